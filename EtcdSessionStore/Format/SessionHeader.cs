namespace Etcd.AspNetCore.Session.Format;

/// <summary>What the store keeps about a session besides its items (see docs/storage-format.md).</summary>
/// <param name="Id">The non-secret session id, stable for the session's life (rotation keeps it).</param>
/// <param name="Created">When the session was first written.</param>
/// <param name="IdleTimeout">The sliding expiry the session was written with.</param>
/// <param name="AbsoluteExpiry">When the session dies however active it is, if ever.</param>
/// <param name="Serializer">The name of the serializer that wrote the items.</param>
/// <param name="User">The user the session is bound to (see docs/sessions-by-user.md), if any.</param>
/// <param name="Metadata">Non-secret details the app attached when binding the user (e.g. user agent).</param>
/// <param name="ChosenIdleTimeout">The idle timeout chosen for this one session (<c>SetIdleTimeout</c>), if any: it wins over the app's.</param>
/// <param name="CommitIds">The ids of the last few commits that wrote the session, newest first: a commit retried after its
/// reply was lost finds its own id here and knows it was applied.</param>
internal sealed record SessionHeader(
    string Id,
    DateTimeOffset Created,
    TimeSpan IdleTimeout,
    DateTimeOffset? AbsoluteExpiry,
    string Serializer,
    string? User = null,
    IReadOnlyDictionary<string, string>? Metadata = null,
    IReadOnlyList<string>? CommitIds = null,
    TimeSpan? ChosenIdleTimeout = null)
{
    /// <summary>How many commit ids a stored session keeps.</summary>
    public const int KeptCommitIds = 8;

    /// <summary>This header with <paramref name="commitId"/> as the newest commit.</summary>
    public SessionHeader WithCommit(string commitId) =>
        this with { CommitIds = [commitId, .. (CommitIds ?? []).Take(KeptCommitIds - 1)] };

    /// <summary>The commit <paramref name="commitId"/> is among the last writes of the session.</summary>
    public bool HasCommit(string commitId) => CommitIds?.Contains(commitId, StringComparer.Ordinal) == true;
}
