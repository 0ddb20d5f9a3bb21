namespace Etcd.AspNetCore.Session;

/// <summary>
/// One stored session with its items, as <see cref="EtcdSessionDirectory.FindAsync"/> reads it: for operators'
/// tools. The items are the session's values, which may be personal data; the secret key is never included.
/// </summary>
public sealed class EtcdSessionDetails
{
    internal EtcdSessionDetails(
        string sessionId,
        string? userName,
        DateTimeOffset? created,
        DateTimeOffset? expiresAt,
        DateTimeOffset? absoluteExpiry,
        string serializer,
        int storedBytes,
        IReadOnlyDictionary<string, string> metadata,
        IReadOnlyDictionary<string, byte[]> items)
    {
        SessionId = sessionId;
        UserName = userName;
        Created = created;
        ExpiresAt = expiresAt;
        AbsoluteExpiry = absoluteExpiry;
        Serializer = serializer;
        StoredBytes = storedBytes;
        Metadata = metadata;
        Items = items;
    }

    /// <summary>The session's stable, non-secret id.</summary>
    public string SessionId { get; }

    /// <summary>The user the session is bound to, if any.</summary>
    public string? UserName { get; }

    /// <summary>When the session was first stored.</summary>
    public DateTimeOffset? Created { get; }

    /// <summary>When it expires unless used again, or <see langword="null"/> if it has no expiry lease.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>The hard deadline from <see cref="EtcdSessionOptions.AbsoluteTimeout"/>, if one was set.</summary>
    public DateTimeOffset? AbsoluteExpiry { get; }

    /// <summary>The name of the serializer that wrote the items (<c>JSON</c>, <c>YAML</c>, <c>Binary</c>, ...).</summary>
    public string Serializer { get; }

    /// <summary>The size of the stored value in etcd, in bytes.</summary>
    public int StoredBytes { get; }

    /// <summary>The metadata given at sign-in (for example the user agent), empty if none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The session's items, as <see cref="Microsoft.AspNetCore.Http.ISession.TryGetValue"/> would return them.</summary>
    public IReadOnlyDictionary<string, byte[]> Items { get; }
}
