using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Sessions;

internal sealed partial class SessionRepository
{
    // Only the non-secret session id is ever logged: never the secret key nor session values.
    private static partial class Log
    {
        [LoggerMessage(EventId = 10, EventName = "SessionNotFound", Level = LogLevel.Debug,
            Message = "The session key names no session in etcd; a new session is started.")]
        public static partial void NotFound(ILogger logger);

        [LoggerMessage(EventId = 11, EventName = "SessionUnreadable", Level = LogLevel.Warning,
            Message = "A stored session could not be read and was left in etcd untouched; the request gets a new session. {Reason}")]
        public static partial void Unreadable(ILogger logger, string reason, Exception exception);

        [LoggerMessage(EventId = 12, EventName = "SessionExpiredOnRead", Level = LogLevel.Debug,
            Message = "Session {SessionId} is past its deadline though etcd still holds it; treated as expired.")]
        public static partial void ExpiredOnRead(ILogger logger, string sessionId);

        [LoggerMessage(EventId = 13, EventName = "SessionCommitted", Level = LogLevel.Debug,
            Message = "Session {SessionId} committed (new: {IsNew}, {Bytes} bytes).")]
        public static partial void Committed(ILogger logger, string sessionId, bool isNew, int bytes);

        [LoggerMessage(EventId = 14, EventName = "SessionMerged", Level = LogLevel.Debug,
            Message = "Session {SessionId} was changed by another request; this request's changes were re-applied (attempt {Attempt}).")]
        public static partial void MergedConcurrentWrite(ILogger logger, string sessionId, int attempt);

        [LoggerMessage(EventId = 15, EventName = "SessionVanished", Level = LogLevel.Information,
            Message = "Session {SessionId} was destroyed or expired while the request ran; its changes were discarded rather than resurrect it.")]
        public static partial void VanishedBeforeCommit(ILogger logger, string sessionId);

        [LoggerMessage(EventId = 16, EventName = "SessionRefreshFailed", Level = LogLevel.Warning,
            Message = "The idle expiry of session {SessionId} could not be extended; the next request tries again.")]
        public static partial void RefreshFailed(ILogger logger, string sessionId, Exception exception);

        [LoggerMessage(EventId = 17, EventName = "SessionRotated", Level = LogLevel.Information,
            Message = "Session {SessionId} moved to a new secret key.")]
        public static partial void Rotated(ILogger logger, string sessionId);

        [LoggerMessage(EventId = 18, EventName = "SessionDestroyed", Level = LogLevel.Information,
            Message = "Session {SessionId} destroyed.")]
        public static partial void Destroyed(ILogger logger, string sessionId);
    }
}
