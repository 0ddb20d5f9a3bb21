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
/// The one place that talks to etcd: every call gets a deadline (<see cref="EtcdSessionOptions.IOTimeout"/>),
/// honours the caller's cancellation, and turns etcd and gRPC failures into <see cref="EtcdSessionException"/>.
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

    // Every call is one client span and one duration measurement, with OpenTelemetry's database-client
    // attributes (see docs/observability.md).
    private async Task<TResponse> CallAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        Func<IEtcdClient, TRequest, DateTime, CancellationToken, Task<TResponse>> call,
        CancellationToken cancellationToken)
    {
        using var activity = DatabaseConventions.StartCall(EtcdSessionInstrumentation.ActivitySource, operation);
        var lastAttempt = new StrongBox<EtcdEndpoint?>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await CallOnceAsync(operation, request, call, lastAttempt, cancellationToken).ConfigureAwait(false);
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
        _metrics?.CallCompleted(operation, Stopwatch.GetElapsedTime(started), errorType, endpoint, statusCode);
        DatabaseConventions.Complete(activity, errorType, endpoint, statusCode, description);
    }

    private async Task<TResponse> CallOnceAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        Func<IEtcdClient, TRequest, DateTime, CancellationToken, Task<TResponse>> call,
        StrongBox<EtcdEndpoint?> lastAttempt,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(_ioTimeout);
        var started = Stopwatch.GetTimestamp();
        var renewed = false;
        EtcdEndpoint? failedOn = null;
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
                return await call(endpoint.Client, request, DateTime.UtcNow + attemptTimeout, attemptCts.Token).ConfigureAwait(false);
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

    /// <summary>
    /// etcd no longer takes the client's auth token: a simple token expired (TTL, restart), or a JWT token predates a
    /// user or role change ("revision of auth store is old"). Either way a new token and one repeat fix it.
    /// </summary>
    private static bool IsExpiredToken(Exception ex) => ex is RpcException rpc && rpc.StatusCode switch
    {
        StatusCode.Unauthenticated => rpc.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal),
        StatusCode.InvalidArgument => rpc.Status.Detail.Contains("revision of auth store is old", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>etcd's NOSPACE alarm: the backend reached its quota and etcd refuses writes until an operator frees space.</summary>
    private static bool IsNoSpace(Exception ex) =>
        ex is RpcException rpc && rpc.Status.Detail.Contains("database space exceeded", StringComparison.Ordinal);

    private static bool IsTlsFailure(Exception ex)
    {
        for (Exception? e = (ex as RpcException)?.Status.DebugException ?? ex.InnerException; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    // A cancellation that is neither the caller's (handled before) nor the attempt's deadline comes from inside the
    // client (seen while it fetches a new auth token): as transient as Unavailable.
    private static bool IsRetryable(Exception failure, bool timedOut) =>
        timedOut || failure is OperationCanceledException || failure is RpcException { StatusCode: StatusCode.Unavailable } || IsServerSideTimeout(failure);

    /// <summary>etcd's own deadline ran out (seen on linearizable reads while the leader is unreachable).</summary>
    private static bool IsServerSideTimeout(Exception ex) =>
        ex is RpcException { StatusCode: StatusCode.Unknown } rpc && rpc.Status.Detail.Contains("context deadline exceeded", StringComparison.Ordinal);

    private static string StatusOf(Exception failure, bool timedOut) =>
        timedOut ? "attempt deadline" : (failure as RpcException)?.StatusCode.ToString() ?? failure.GetType().Name;

    /// <summary>A short pause before a retry, so a cluster in an election is not hammered: 50, 100, 200, then 400 ms.</summary>
    private static TimeSpan RetryDelay(int attempt) => TimeSpan.FromMilliseconds(50 * (1 << Math.Min(attempt - 1, 3)));

    private EtcdSessionException Translate(string operation, Exception ex, bool timedOut)
    {
        var status = (ex as RpcException)?.StatusCode;
        var kind = status switch
        {
            _ when timedOut && status is null or StatusCode.Cancelled or StatusCode.DeadlineExceeded => EtcdSessionErrorKind.Timeout,
            StatusCode.DeadlineExceeded => EtcdSessionErrorKind.Timeout,
            StatusCode.Unknown when IsServerSideTimeout(ex) => EtcdSessionErrorKind.Timeout,
            _ when IsNoSpace(ex) => EtcdSessionErrorKind.Unavailable,
            null when ex is OperationCanceledException => EtcdSessionErrorKind.Unavailable, // cancelled inside the client, not by us
            StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Aborted => EtcdSessionErrorKind.Unavailable,
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => EtcdSessionErrorKind.PermissionDenied,
            StatusCode.ResourceExhausted => EtcdSessionErrorKind.TooLarge,
            StatusCode.InvalidArgument when ex.Message.Contains("too large", StringComparison.OrdinalIgnoreCase) => EtcdSessionErrorKind.TooLarge,
            StatusCode.InvalidArgument when ex.Message.Contains("authentication failed", StringComparison.OrdinalIgnoreCase) => EtcdSessionErrorKind.PermissionDenied,
            _ => EtcdSessionErrorKind.EtcdError,
        };
        if (IsTlsFailure(ex))
        {
            return new EtcdSessionException(EtcdSessionErrorKind.EtcdError,
                $"etcd {operation} failed: the TLS handshake with etcd failed ({ex.Message}). Check that TlsCaCertificateFile is the CA that signed etcd's server certificate, that the endpoint host name matches that certificate, and, when etcd requires client certificates, TlsClientCertificateFile and TlsClientKeyFile.", ex);
        }

        if (IsNoSpace(ex))
        {
            return new EtcdSessionException(kind,
                $"etcd {operation} was refused: etcd's database reached its space quota (NOSPACE alarm) and takes no writes until an operator compacts and defragments it and disarms the alarm (see docs/operations.md) ({status}).", ex);
        }

        var message = kind switch
        {
            EtcdSessionErrorKind.Timeout => TimeoutMessage(operation),
            EtcdSessionErrorKind.Unavailable => $"etcd {operation} failed: etcd is unavailable ({status}).",
            EtcdSessionErrorKind.PermissionDenied => $"etcd {operation} was refused: check the etcd user, password and its role's permission on the key prefix ({status}).",
            EtcdSessionErrorKind.TooLarge => $"etcd {operation} was refused as too large; raise etcd's --max-request-bytes or store less in the session ({status}).",
            _ => $"etcd {operation} failed: {(ex as RpcException)?.Status.Detail ?? ex.Message} ({status}).",
        };
        return new EtcdSessionException(kind, message, ex);
    }

    private string TimeoutMessage(string operation) =>
        $"etcd {operation} did not answer within the IOTimeout of {_ioTimeout.TotalSeconds:0.###} s. A write that timed out may still have been applied.";

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "EtcdCallFailed", Level = LogLevel.Warning,
            Message = "etcd {Operation} failed after {ElapsedMilliseconds:0.0} ms ({Kind}).")]
        public static partial void EtcdCallFailed(ILogger logger, string operation, double elapsedMilliseconds, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 2, EventName = "EtcdCallRetrying", Level = LogLevel.Information,
            Message = "etcd {Operation} attempt {Attempt} failed after {ElapsedMilliseconds:0.0} ms ({Reason}); retrying.")]
        public static partial void EtcdCallRetrying(ILogger logger, string operation, int attempt, double elapsedMilliseconds, string reason);

        [LoggerMessage(EventId = 3, EventName = "EtcdAuthTokenRenewed", Level = LogLevel.Information,
            Message = "etcd rejected the auth token as expired during {Operation}; a new one is requested and the call repeated.")]
        public static partial void AuthTokenRenewed(ILogger logger, string operation);
    }
}
