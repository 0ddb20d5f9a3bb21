namespace Etcd.AspNetCore.Session;

/// <summary>What may be shown or logged about a session: never its secret key.</summary>
public sealed class EtcdSessionInfo
{
    internal EtcdSessionInfo(string sessionId, DateTimeOffset? created, DateTimeOffset? expiresAt, string? userName = null, long? revision = null)
    {
        UserName = userName;
        Revision = revision;
        SessionId = sessionId;
        Created = created;
        ExpiresAt = expiresAt;
    }

    /// <summary>The session's stable, non-secret id (<c>ISession.Id</c>), kept across id rotation.</summary>
    public string SessionId { get; }

    /// <summary>When the session was first stored, or <see langword="null"/> if it is not stored yet.</summary>
    public DateTimeOffset? Created { get; }

    /// <summary>When it expires unless used again (the earlier of its idle and absolute deadlines), or <see langword="null"/> if it is not stored.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>
    /// The etcd revision of the stored session as this request last saw or wrote it (its <c>mod_revision</c>), or
    /// <see langword="null"/> if it is not stored. It grows with every write, by any instance.
    /// </summary>
    public long? Revision { get; }

    /// <summary>The user the session is bound to (by sign-in or <c>BindUserAsync(userName)</c>), if any.</summary>
    public string? UserName { get; }
}
