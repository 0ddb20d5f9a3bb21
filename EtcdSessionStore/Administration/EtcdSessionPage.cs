namespace Etcd.AspNetCore.Session;

/// <summary>A page of stored sessions, in etcd key order (which is neither creation nor id order).</summary>
public sealed class EtcdSessionPage
{
    internal EtcdSessionPage(IReadOnlyList<EtcdSessionSummary> sessions, string? continuationToken)
    {
        Sessions = sessions;
        ContinuationToken = continuationToken;
    }

    /// <summary>The sessions of this page.</summary>
    public IReadOnlyList<EtcdSessionSummary> Sessions { get; }

    /// <summary>
    /// Pass it to <see cref="EtcdSessionDirectory.ListAllAsync"/> for the next page; <see langword="null"/> on the
    /// last page. It is the hash part of an etcd key: no secret, and useless as a cookie.
    /// </summary>
    public string? ContinuationToken { get; }
}
