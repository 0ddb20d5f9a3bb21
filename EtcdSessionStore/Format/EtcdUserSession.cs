namespace Etcd.AspNetCore.Session;

/// <summary>One live session of a user, as <see cref="EtcdSessionDirectory"/> lists it. Holds nothing secret.</summary>
public sealed class EtcdUserSession
{
    internal EtcdUserSession(string sessionId, string userName, DateTimeOffset created, DateTimeOffset lastSeen, DateTimeOffset? expiresAt, IReadOnlyDictionary<string, string> metadata)
    {
        SessionId = sessionId;
        UserName = userName;
        Created = created;
        LastSeen = lastSeen;
        ExpiresAt = expiresAt;
        Metadata = metadata;
    }

    /// <summary>The non-secret session id (<c>ISession.Id</c>), stable across id rotation.</summary>
    public string SessionId { get; }

    /// <summary>The user the session is bound to.</summary>
    public string UserName { get; }

    /// <summary>When the session was first written.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>
    /// When the session was last written or had its expiry extended: accurate to the store's refresh
    /// interval, since a read-only request does not write.
    /// </summary>
    public DateTimeOffset LastSeen { get; }

    /// <summary>When the session expires unless used again (the earlier of its idle and absolute deadlines).</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>What the app attached when it bound the user, e.g. a user agent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
