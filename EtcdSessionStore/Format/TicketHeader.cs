namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// What the index entry of a stored sign-in ticket says about it: its public id, the user it is indexed
/// under, the public id of the session the user signed in with (if any), and when it was first stored.
/// </summary>
internal sealed record TicketHeader(string Id, string? User, string? SessionId, DateTimeOffset Created);
