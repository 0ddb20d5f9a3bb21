using Grpc.Core;

namespace Etcd.AspNetCore.Session.Storage;

// What etcd's and gRPC's failures mean: which to retry, and which EtcdSessionException each becomes.
internal sealed partial class EtcdGateway
{
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
}
