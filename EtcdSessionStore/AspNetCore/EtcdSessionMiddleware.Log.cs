using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.AspNetCore;

internal sealed partial class EtcdSessionMiddleware
{
    // Event ids 100..119. Only the non-secret session id is logged: never the cookie, the secret key or values.
    private static partial class Log
    {
        [LoggerMessage(EventId = 100, EventName = "SessionCookieRejected", Level = LogLevel.Debug,
            Message = "The session cookie could not be unprotected (forged, corrupted or from another key ring); the request gets a new session.")]
        public static partial void CookieRejected(ILogger logger);

        [LoggerMessage(EventId = 101, EventName = "SessionLoadFailedRequestRefused", Level = LogLevel.Warning,
            Message = "The session could not be loaded ({Kind}); the request is answered with 503 (UnavailableBehavior = FailRequest).")]
        public static partial void LoadFailedRequestRefused(ILogger logger, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 102, EventName = "SessionLoadFailedContinuing", Level = LogLevel.Warning,
            Message = "The session could not be loaded ({Kind}); the request continues with an unavailable session (UnavailableBehavior = ContinueWithoutSession).")]
        public static partial void LoadFailedContinuing(ILogger logger, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 103, EventName = "SessionCommitFailed", Level = LogLevel.Warning,
            Message = "Session {SessionId} could not be saved or changed ({Kind}); the response is replaced by a {StatusCode} problem details answer.")]
        public static partial void CommitFailed(ILogger logger, string sessionId, EtcdSessionErrorKind kind, int statusCode, Exception exception);

        [LoggerMessage(EventId = 105, EventName = "SignInEndedWithSession", Level = LogLevel.Information,
            Message = "A signed-in request's session is no longer bound to its user (revoked, signed out everywhere or expired); the user is signed out (EndSignInWithSession).")]
        public static partial void SignInEndedWithSession(ILogger logger);

        [LoggerMessage(EventId = 104, EventName = "SessionCommitFailedAfterResponseStarted", Level = LogLevel.Error,
            Message = "Session {SessionId} could not be saved ({Kind}) after the endpoint had started the response; the request's session changes are lost.")]
        public static partial void CommitFailedAfterResponseStarted(ILogger logger, string sessionId, EtcdSessionErrorKind kind, Exception exception);
    }
}
