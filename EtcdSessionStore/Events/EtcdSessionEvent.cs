namespace Etcd.AspNetCore.Session;

/// <summary>One session event seen in etcd. Holds nothing secret.</summary>
public sealed class EtcdSessionEvent
{
    internal EtcdSessionEvent(EtcdSessionEventKind kind, string? sessionId, string? userName, long revision, DateTimeOffset observedAt)
    {
        Kind = kind;
        SessionId = sessionId;
        UserName = userName;
        Revision = revision;
        ObservedAt = observedAt;
    }

    /// <summary>What happened.</summary>
    public EtcdSessionEventKind Kind { get; }

    /// <summary>The non-secret session id; <see langword="null"/> for <see cref="EtcdSessionEventKind.Resynced"/> or an unreadable value.</summary>
    public string? SessionId { get; }

    /// <summary>The user the session is bound to, if any.</summary>
    public string? UserName { get; }

    /// <summary>The etcd revision of the change (for <see cref="EtcdSessionEventKind.Resynced"/>, the revision the watch resumed from).</summary>
    public long Revision { get; }

    /// <summary>When this process saw the event.</summary>
    public DateTimeOffset ObservedAt { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {SessionId ?? "-"} (user {UserName ?? "-"}, revision {Revision})";
}
