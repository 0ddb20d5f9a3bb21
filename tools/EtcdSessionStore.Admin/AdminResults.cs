namespace Etcd.AspNetCore.Session.Admin;

/// <summary>One line of <c>list</c>: what may be shown of a session without its secret key.</summary>
internal sealed record SessionSummary(string? Id, DateTimeOffset? Created, DateTimeOffset? ExpiresAt, int Bytes, string? User, string? Unreadable);

/// <summary>A page of <c>list</c>; <see cref="Next"/> is the <c>--after</c> token of the next page, if there is one.</summary>
internal sealed record SessionPage(IReadOnlyList<SessionSummary> Sessions, string? Next);

/// <summary>What <c>show</c> prints: the header and the decoded items (text, or base64 for other bytes).</summary>
internal sealed record SessionDetails(
    string Id,
    string? User,
    DateTimeOffset? Created,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? AbsoluteExpiry,
    string Serializer,
    int Bytes,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<SessionItem> Items);

/// <summary>One session item: <see cref="Text"/> when it is printable UTF-8 text, else <see cref="Base64"/>.</summary>
internal sealed record SessionItem(string Name, string? Text, string? Base64);

/// <summary>What <c>stats</c> prints.</summary>
internal sealed record StoreStatistics(
    string KeyPrefix, long Sessions, long BoundToAUser, int Leases, int ExpiryLeases, string EtcdVersion, long DbSize, long DbSizeInUse, long Revision);

/// <summary>The outcome of <c>revoke</c>.</summary>
internal enum RevokeOutcome
{
    Revoked,
    NotFound,
    KeptChanging,
}
