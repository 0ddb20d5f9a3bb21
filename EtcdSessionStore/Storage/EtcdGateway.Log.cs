using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Storage;

internal sealed partial class EtcdGateway
{
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
