using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Protection;

internal sealed partial class ItemSealing
{
    // Event ids 140..149. Only the non-secret session id and key-ring key id are logged: never keys nor items.
    private static partial class Log
    {
        [LoggerMessage(EventId = 148, EventName = "SessionUnsealFailed", Level = LogLevel.Warning,
            Message = "The sealed items of session {SessionId} (data key wrapped under Data Protection key {KeyId}) do not open: {Reason}. The value is read as corrupt and left in etcd.")]
        public static partial void UnsealFailed(ILogger logger, string sessionId, string keyId, string reason, Exception? exception);
    }
}
