namespace Etcd.AspNetCore.Session.Format;

/// <summary>A decoded ticket index entry: what a revoke needs (the ticket's etcd key, the entry's own key) and the session the user signed in with.</summary>
internal sealed record UserTicketEntry(string TicketId, string? SessionId, string StorageKey, string EntryKey);
