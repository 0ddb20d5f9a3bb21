namespace Etcd.AspNetCore.Session;

/// <summary>What happened to a session, as <see cref="EtcdSessionEvents"/> reports it.</summary>
public enum EtcdSessionEventKind
{
    /// <summary>A new session was first written.</summary>
    Created,

    /// <summary>A stored session's items or header changed (a touch that only extends the expiry is not reported).</summary>
    Changed,

    /// <summary>The session moved to a new secret key (its non-secret id stays the same).</summary>
    Rotated,

    /// <summary>The session was deleted before its deadline: destroyed by the app, revoked, or signed out.</summary>
    Destroyed,

    /// <summary>etcd removed the session when its expiry lease ran out (or it was deleted at or after its deadline).</summary>
    Expired,

    /// <summary>
    /// The watch lost history (etcd compacted the revisions it had to resume from): events in between are
    /// missing. Reload whatever state you derive from events.
    /// </summary>
    Resynced,
}
