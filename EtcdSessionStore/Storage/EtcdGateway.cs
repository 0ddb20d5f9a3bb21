using System.Diagnostics;
using System.Runtime.CompilerServices;
using dotnet_etcd.interfaces;
using Etcd.AspNetCore.Session.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The only code that calls etcd (sessions, the user index, tickets, the key ring, status, watches, the pool's health
/// probes): every call gets a deadline (<see cref="EtcdSessionOptions.IOTimeout"/>), honours the caller's
/// cancellation, is retried on another member when it stalls or is refused, and turns etcd and gRPC failures into
/// <see cref="EtcdSessionException"/>. A probe (<see cref="ProbeAsync"/>) is the exception to the retries: it tests
/// one member, once.
/// </summary>
internal sealed partial class EtcdGateway
{
    private readonly EtcdEndpointPool _endpoints;
    private readonly TimeSpan _ioTimeout;
    private readonly ILogger _logger;
    private readonly SessionMetrics? _metrics;

    /// <summary>A stalled attempt may use 1/4 of IOTimeout, so that a stall leaves room for attempts elsewhere.</summary>
    private const int StalledAttemptsPerBudget = 4;

    private static readonly TimeSpan MinimumAttempt = TimeSpan.FromMilliseconds(100);

    private readonly TimeSpan _attemptTimeout;

    /// <param name="endpoints">The etcd members, one client each.</param>
    /// <param name="ioTimeout">The budget of one call, retries included.</param>
    /// <param name="logger">Where failures and retries are logged.</param>
    /// <param name="metrics">Where call durations and failures are counted, if anywhere.</param>
    public EtcdGateway(EtcdEndpointPool endpoints, TimeSpan ioTimeout, ILogger logger, SessionMetrics? metrics = null)
    {
        _endpoints = endpoints;
        _ioTimeout = ioTimeout;
        _logger = logger;
        _metrics = metrics;
        _attemptTimeout = AttemptTimeoutFor(ioTimeout);
    }

    /// <summary>A gateway over one client (tests, or a client the app supplied).</summary>
    public EtcdGateway(IEtcdClient client, TimeSpan ioTimeout, ILogger logger, SessionMetrics? metrics = null)
        : this(EtcdEndpointPool.Single(client, logger), ioTimeout, logger, metrics)
    {
    }

    /// <summary>
    /// The deadline of one attempt. A call stuck on a frozen member only ends at its deadline; a quarter of
    /// the budget per attempt leaves room to try the other members. The last attempt gets what is left.
    /// </summary>
    public static TimeSpan AttemptTimeoutFor(TimeSpan ioTimeout) =>
        TimeSpan.FromTicks(Math.Max(ioTimeout.Ticks / StalledAttemptsPerBudget, Math.Min(ioTimeout.Ticks, MinimumAttempt.Ticks * 2)));

    /// <summary>Reads one key; <see langword="null"/> when it does not exist.</summary>
    public async Task<KeyValue?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(key) };
        var response = await CallAsync("Range", request,
            static (c, r, deadline, ct) => c.GetAsync(r, null, deadline, ct), cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken) =>
        CallAsync("Range", request, static (c, r, deadline, ct) => c.GetAsync(r, null, deadline, ct), cancellationToken);

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken) =>
        CallAsync("Txn", request, static (c, r, deadline, ct) => c.TransactionAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>Grants a lease with a chosen id; a lease that already exists with that id counts as granted.</summary>
    public Task GrantLeaseAsync(long id, long ttlSeconds, CancellationToken cancellationToken) =>
        CallAsync("LeaseGrant", new LeaseGrantRequest { ID = id, TTL = ttlSeconds }, static async (c, r, deadline, ct) =>
        {
            try
            {
                return await c.LeaseGrantAsync(r, null, deadline, ct).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.Status.Detail.Contains("lease already exists", StringComparison.Ordinal))
            {
                // Another instance granted the same expiry lease first: the outcome wanted, not a failure.
                return new LeaseGrantResponse { ID = r.ID, TTL = r.TTL };
            }
        }, cancellationToken);

    /// <summary>True when etcd refused a write because its lease no longer exists (expired or revoked).</summary>
    public static bool IsLeaseNotFound(Exception? ex) =>
        ex is RpcException { StatusCode: StatusCode.NotFound } rpc && rpc.Status.Detail.Contains("lease not found", StringComparison.Ordinal);

    private Task<TResponse> CallAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        Func<IEtcdClient, TRequest, DateTime, CancellationToken, Task<TResponse>> call,
        CancellationToken cancellationToken) =>
        CallAsync(operation, (Request: request, Call: call), static (e, s, deadline, ct) => s.Call(e.Client, s.Request, deadline, ct), avoid: null, cancellationToken);

    // Every call is one client span and one duration measurement, with OpenTelemetry's database-client
    // attributes (see docs/observability.md). The first attempt avoids the member given, when another one is available.
    private async Task<TResponse> CallAsync<TState, TResponse>(
        string operation,
        TState state,
        Func<EtcdEndpoint, TState, DateTime, CancellationToken, Task<TResponse>> call,
        EtcdEndpoint? avoid,
        CancellationToken cancellationToken)
    {
        using var activity = DatabaseConventions.StartCall(EtcdSessionInstrumentation.ActivitySource, operation);
        var lastAttempt = new StrongBox<EtcdEndpoint?>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await CallOnceAsync(operation, state, call, avoid, lastAttempt, cancellationToken).ConfigureAwait(false);
            Completed(activity, operation, started, lastAttempt.Value, errorType: null, cause: null, description: null);
            return response;
        }
        catch (EtcdSessionException ex)
        {
            Completed(activity, operation, started, lastAttempt.Value, SessionMetrics.KindName(ex.Kind), ex.InnerException, ex.Message);
            _metrics?.Failed(ex.Kind);
            throw;
        }
        catch (OperationCanceledException ex)
        {
            Completed(activity, operation, started, lastAttempt.Value, DatabaseConventions.Cancelled, ex.InnerException, "cancelled by the caller");
            throw;
        }
    }

    private void Completed(Activity? activity, string operation, long started, EtcdEndpoint? endpoint, string? errorType, Exception? cause, string? description)
    {
        var statusCode = DatabaseConventions.StatusCodeOf(cause);
        _metrics?.CallCompleted(operation, Stopwatch.GetElapsedTime(started), errorType, endpoint?.ServerAddress, endpoint?.ServerPort, statusCode);
        DatabaseConventions.Complete(activity, errorType, endpoint?.ServerAddress, endpoint?.ServerPort, statusCode, description);
    }

    private async Task<TResponse> CallOnceAsync<TState, TResponse>(
        string operation,
        TState state,
        Func<EtcdEndpoint, TState, DateTime, CancellationToken, Task<TResponse>> call,
        EtcdEndpoint? avoid,
        StrongBox<EtcdEndpoint?> lastAttempt,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(_ioTimeout);
        var started = Stopwatch.GetTimestamp();
        var renewed = false;
        var failedOn = avoid;
        Exception? previousFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            var remaining = _ioTimeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero && previousFailure is not null)
            {
                // A retry (after a late token renewal, or a pause that overran) found the budget already spent.
                var spent = new EtcdSessionException(EtcdSessionErrorKind.Timeout, TimeoutMessage(operation), previousFailure);
                Log.EtcdCallFailed(_logger, operation, Stopwatch.GetElapsedTime(started).TotalMilliseconds, spent.Kind, previousFailure);
                throw spent;
            }

            var endpoint = _endpoints.Pick(avoid: failedOn);
            lastAttempt.Value = endpoint;

            // Every attempt but the last gets a share of the budget; the last gets what is left.
            var attemptTimeout = remaining - _attemptTimeout > MinimumAttempt ? _attemptTimeout : remaining;
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(budget.Token);
            attemptCts.CancelAfter(attemptTimeout);
            Exception failure;
            try
            {
                return await call(endpoint, state, DateTime.UtcNow + attemptTimeout, attemptCts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The etcd call was cancelled by the caller.", ex, cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException)
            {
                failure = ex;
                previousFailure = ex;
            }

            // Every call the store makes is safe to repeat: reads, exact-key deletes, lease grants with a chosen
            // id, and transactions guarded on what the caller saw (a repeat of one that was applied fails its
            // guard and reads the key back). So a stalled or refused attempt is retried, most likely on another
            // member, until the IOTimeout budget is spent.
            if (IsExpiredToken(failure) && endpoint.RenewAuthToken is { } renew && !renewed)
            {
                // etcd forgot the token (TTL, restart, leader change with simple tokens); the client does not notice.
                renewed = true;
                failedOn = null;
                renew();
                Log.AuthTokenRenewed(_logger, operation);
                continue;
            }

            var timedOut = attemptCts.IsCancellationRequested || failure is RpcException { StatusCode: StatusCode.DeadlineExceeded };
            var delay = RetryDelay(attempt);
            if (IsRetryable(failure, timedOut))
            {
                _endpoints.SetAside(endpoint, StatusOf(failure, timedOut));
                failedOn = endpoint;
            }

            if (IsRetryable(failure, timedOut) && _ioTimeout - Stopwatch.GetElapsedTime(started) > delay + MinimumAttempt)
            {
                Log.EtcdCallRetrying(_logger, operation, attempt, Stopwatch.GetElapsedTime(started).TotalMilliseconds, StatusOf(failure, timedOut));
                try
                {
                    await Task.Delay(delay, budget.Token).ConfigureAwait(false);
                    continue;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The budget ran out while waiting: report the failure we have.
                }
            }

            var error = Translate(operation, failure, timedOut || budget.IsCancellationRequested);
            Log.EtcdCallFailed(_logger, operation, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error.Kind, failure);
            throw error;
        }
    }
}
