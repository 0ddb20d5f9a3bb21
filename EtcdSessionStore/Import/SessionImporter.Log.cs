using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Import;

internal sealed partial class SessionImporter
{
    // Event ids 140..149. Never the cookie, the old session key, the new secret or values: only the new public id.
    private static partial class Log
    {
        [LoggerMessage(EventId = 140, EventName = "SessionImported", Level = LogLevel.Information,
            Message = "The previous store's session was imported into session {SessionId} ({ItemCount} items); the stock cookie is expired.")]
        public static partial void Imported(ILogger logger, string sessionId, int itemCount);

        [LoggerMessage(EventId = 141, EventName = "SessionImportJoined", Level = LogLevel.Debug,
            Message = "A request with the same stock cookie imported its session a moment ago; this request gets that session.")]
        public static partial void Joined(ILogger logger);

        [LoggerMessage(EventId = 142, EventName = "SessionImportMissing", Level = LogLevel.Debug,
            Message = "The stock cookie's session is gone or expired in the previous store; the request gets a new session.")]
        public static partial void Missing(ILogger logger);

        [LoggerMessage(EventId = 143, EventName = "SessionImportCorrupt", Level = LogLevel.Warning,
            Message = "The stock cookie's session could not be imported ({Reason}); the request gets a new session and the value stays in the previous store.")]
        public static partial void Corrupt(ILogger logger, string reason);

        [LoggerMessage(EventId = 144, EventName = "SessionImportCookieRejected", Level = LogLevel.Debug,
            Message = "The stock session cookie could not be unprotected (forged, corrupted, or from a key ring this app does not share); the request gets a new session.")]
        public static partial void CookieRejected(ILogger logger);

        [LoggerMessage(EventId = 145, EventName = "SessionImportFailed", Level = LogLevel.Warning,
            Message = "The stock cookie's session could not be imported ({Kind}): the previous store or etcd failed. UnavailableBehavior applies, and the stock cookie is kept for the next request to try again.")]
        public static partial void ImportFailed(ILogger logger, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 146, EventName = "SessionImportEntryNotRemoved", Level = LogLevel.Warning,
            Message = "Session {SessionId} was imported, but its entry could not be removed from the previous store (DeleteImported); it stays there until it expires.")]
        public static partial void PreviousNotRemoved(ILogger logger, string sessionId, Exception exception);

        [LoggerMessage(EventId = 147, EventName = "SessionImportClaimUnreadable", Level = LogLevel.Warning,
            Message = "A concurrent request's import claim could not be unprotected (another key ring?); this request gets a new session.")]
        public static partial void ClaimUnreadable(ILogger logger, Exception exception);
    }
}
