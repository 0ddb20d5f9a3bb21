using System.Diagnostics;
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
    private readonly IEtcdClient _client;
    private readonly TimeSpan _ioTimeout;
    private readonly ILogger _logger;
    private readonly SessionMetrics? _metrics;

    public EtcdGateway(IEtcdClient client, TimeSpan ioTimeout, ILogger logger, SessionMetrics? metrics = null)
    {
        _client = client;
        _ioTimeout = ioTimeout;
        _logger = logger;
        _metrics = metrics;
    }


    public TimeSpan IOTimeout => _ioTimeout;

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

    public Task<DeleteRangeResponse> DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync("DeleteRange", new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) },
            static (c, r, deadline, ct) => c.DeleteAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>Grants a lease with a chosen id; a lease that already exists with that id counts as granted.</summary>
    public async Task GrantLeaseAsync(long id, long ttlSeconds, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("LeaseGrant", new LeaseGrantRequest { ID = id, TTL = ttlSeconds },
                static (c, r, deadline, ct) => c.LeaseGrantAsync(r, null, deadline, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex) when (IsLeaseExists(ex.InnerException))
        {
            // Another instance granted the same expiry second first: that lease is the one we want.
        }
    }

    /// <summary>True when etcd refused a write because its lease no longer exists (expired or revoked).</summary>
    public static bool IsLeaseNotFound(Exception? ex) =>
        ex is RpcException { StatusCode: StatusCode.NotFound } rpc && rpc.Status.Detail.Contains("lease not found", StringComparison.Ordinal);

    private static bool IsLeaseExists(Exception? ex) =>
        ex is RpcException rpc && rpc.Status.Detail.Contains("lease already exists", StringComparison.Ordinal);

    // Every call is one client span and one duration measurement (see docs/observability.md).
    private async Task<TResponse> CallAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        Func<IEtcdClient, TRequest, DateTime, CancellationToken, Task<TResponse>> call,
        CancellationToken cancellationToken)
    {
        using var activity = EtcdSessionInstrumentation.ActivitySource.StartActivity("etcd " + operation, ActivityKind.Client);
        activity?.SetTag("db.system.name", "etcd");
        activity?.SetTag("db.operation.name", operation);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await CallOnceAsync(operation, request, call, cancellationToken).ConfigureAwait(false);
            _metrics?.CallCompleted(operation, Stopwatch.GetElapsedTime(started), failure: null);
            return response;
        }
        catch (EtcdSessionException ex) when (IsLeaseExists(ex.InnerException))
        {
            // Another instance granted the same expiry lease first: the outcome the caller wanted, not a failure.
            _metrics?.CallCompleted(operation, Stopwatch.GetElapsedTime(started), failure: null);
            activity?.SetTag("etcd.lease.already_granted", true);
            throw;
        }
        catch (EtcdSessionException ex)
        {
            _metrics?.CallCompleted(operation, Stopwatch.GetElapsedTime(started), ex.Kind);
            _metrics?.Failed(ex.Kind);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            activity?.SetTag("error.type", SessionMetrics.KindName(ex.Kind));
            throw;
        }
        catch (OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "cancelled by the caller");
            throw;
        }
    }

    private async Task<TResponse> CallOnceAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        Func<IEtcdClient, TRequest, DateTime, CancellationToken, Task<TResponse>> call,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_ioTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call(_client, request, DateTime.UtcNow + _ioTimeout, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The etcd call was cancelled by the caller.", ex, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException)
        {
            var failure = Translate(operation, ex, timeout.IsCancellationRequested);
            Log.EtcdCallFailed(_logger, operation, Stopwatch.GetElapsedTime(started).TotalMilliseconds, failure.Kind, ex);
            throw failure;
        }
    }

    private EtcdSessionException Translate(string operation, Exception ex, bool timedOut)
    {
        var status = (ex as RpcException)?.StatusCode;
        var kind = status switch
        {
            _ when timedOut && status is null or StatusCode.Cancelled or StatusCode.DeadlineExceeded => EtcdSessionErrorKind.Timeout,
            StatusCode.DeadlineExceeded => EtcdSessionErrorKind.Timeout,
            StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Aborted => EtcdSessionErrorKind.Unavailable,
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => EtcdSessionErrorKind.PermissionDenied,
            StatusCode.ResourceExhausted => EtcdSessionErrorKind.TooLarge,
            StatusCode.InvalidArgument when ex.Message.Contains("too large", StringComparison.OrdinalIgnoreCase) => EtcdSessionErrorKind.TooLarge,
            _ => EtcdSessionErrorKind.EtcdError,
        };
        var message = kind switch
        {
            EtcdSessionErrorKind.Timeout => $"etcd {operation} did not answer within the IOTimeout of {_ioTimeout.TotalSeconds:0.###} s. A write that timed out may still have been applied.",
            EtcdSessionErrorKind.Unavailable => $"etcd {operation} failed: etcd is unavailable ({status}).",
            EtcdSessionErrorKind.PermissionDenied => $"etcd {operation} was refused: check the etcd user, password and its role's permission on the key prefix ({status}).",
            EtcdSessionErrorKind.TooLarge => $"etcd {operation} was refused as too large; raise etcd's --max-request-bytes or store less in the session ({status}).",
            _ => $"etcd {operation} failed: {(ex as RpcException)?.Status.Detail ?? ex.Message} ({status}).",
        };
        return new EtcdSessionException(kind, message, ex);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "EtcdCallFailed", Level = LogLevel.Warning,
            Message = "etcd {Operation} failed after {ElapsedMilliseconds:0.0} ms ({Kind}).")]
        public static partial void EtcdCallFailed(ILogger logger, string operation, double elapsedMilliseconds, EtcdSessionErrorKind kind, Exception exception);
    }
}
