namespace Etcd.AspNetCore.Session;

/// <summary>One stored session as <see cref="EtcdSessionDirectory.ListAllAsync"/> lists it: never its secret key.</summary>
public sealed class EtcdSessionSummary
{
    internal EtcdSessionSummary(string? sessionId, string? userName, DateTimeOffset? created, DateTimeOffset? expiresAt, int storedBytes, string? readError)
    {
        SessionId = sessionId;
        UserName = userName;
        Created = created;
        ExpiresAt = expiresAt;
        StoredBytes = storedBytes;
        ReadError = readError;
    }

    /// <summary>The session's stable, non-secret id; <see langword="null"/> when the stored value could not be read (<see cref="ReadError"/>).</summary>
    public string? SessionId { get; }

    /// <summary>The user the session is bound to, if any.</summary>
    public string? UserName { get; }

    /// <summary>When the session was first stored.</summary>
    public DateTimeOffset? Created { get; }

    /// <summary>When it expires unless used again, or <see langword="null"/> if it has no expiry lease.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>The size of the stored value in etcd, in bytes.</summary>
    public int StoredBytes { get; }

    /// <summary>Why the stored value could not be read (written by something else, or damaged); <see langword="null"/> when it was read.</summary>
    public string? ReadError { get; }
}
