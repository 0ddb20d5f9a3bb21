using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Authentication;

// Log events 130 to 139. Only the non-secret ticket id is logged, never the reference the cookie carries.
internal sealed partial class EtcdTicketStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 130, EventName = "TicketStored", Level = LogLevel.Debug,
            Message = "Sign-in ticket {TicketId} stored in etcd.")]
        public static partial void TicketStored(ILogger logger, string ticketId);

        [LoggerMessage(EventId = 131, EventName = "TicketLoadFailed", Level = LogLevel.Warning,
            Message = "A sign-in ticket could not be read from etcd ({Kind}); the request continues anonymous.")]
        public static partial void TicketLoadFailed(ILogger logger, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 132, EventName = "TicketUnreadable", Level = LogLevel.Warning,
            Message = "Sign-in ticket {TicketId} in etcd cannot be read ({Reason}); the request continues anonymous.")]
        public static partial void TicketUnreadable(ILogger logger, string ticketId, string reason);

        [LoggerMessage(EventId = 133, EventName = "TicketExpiredOnRead", Level = LogLevel.Debug,
            Message = "Sign-in ticket {TicketId} is past its deadline; the request continues anonymous.")]
        public static partial void TicketExpiredOnRead(ILogger logger, string ticketId);

        [LoggerMessage(EventId = 134, EventName = "TicketRenewFailed", Level = LogLevel.Warning,
            Message = "Sign-in ticket {TicketId} could not be renewed ({Kind}); it keeps its previous expiry.")]
        public static partial void TicketRenewFailed(ILogger logger, string ticketId, EtcdSessionErrorKind kind, Exception exception);

        [LoggerMessage(EventId = 135, EventName = "TicketGoneOnRenew", Level = LogLevel.Debug,
            Message = "Sign-in ticket {TicketId} was not renewed: it was revoked, signed out or expired meanwhile.")]
        public static partial void TicketGoneOnRenew(ILogger logger, string ticketId);

        [LoggerMessage(EventId = 136, EventName = "TicketRemoved", Level = LogLevel.Debug,
            Message = "Sign-in ticket {TicketId} removed from etcd (sign-out).")]
        public static partial void TicketRemoved(ILogger logger, string ticketId);
    }
}
