using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>One request's changes to a session, waiting to be written (alone or together with other requests').</summary>
internal sealed class PendingCommit
{
    /// <param name="loaded">The stored version the request last saw; <see langword="null"/> for a session not stored yet.</param>
    /// <param name="changes">What the request did (a copy: the request may go on changing its session).</param>
    /// <param name="newHeader">The header to write if the session has to be created.</param>
    /// <param name="idleTimeout">The sliding expiry to write the session with.</param>
    /// <param name="items">
    /// The request's own view: <paramref name="loaded"/>'s items with <paramref name="changes"/> applied (the session keeps
    /// it so: after a commit its view is <see cref="StoredItems"/>).
    /// </param>
    /// <param name="chosenIdleTimeout">The idle timeout the request chose for this session (<c>SetIdleTimeout</c>), if it did.</param>
    /// <param name="keepExpiry">The request must not push the expiry forward (<c>WithoutSessionRefresh()</c>).</param>
    public PendingCommit(StoredSession? loaded, SessionChanges changes, SessionHeader newHeader, TimeSpan idleTimeout, IReadOnlyDictionary<string, byte[]> items,
        TimeSpan? chosenIdleTimeout = null, bool keepExpiry = false)
    {
        ChosenIdleTimeout = chosenIdleTimeout;
        KeepExpiry = keepExpiry;
        Loaded = loaded;
        Changes = changes;
        NewHeader = newHeader;
        IdleTimeout = idleTimeout;
        Items = items;
    }

    public StoredSession? Loaded { get; }

    public SessionChanges Changes { get; }

    public SessionHeader NewHeader { get; }

    public TimeSpan IdleTimeout { get; }

    public IReadOnlyDictionary<string, byte[]> Items { get; }

    public TimeSpan? ChosenIdleTimeout { get; }

    public bool KeepExpiry { get; }

    /// <summary>
    /// The items of the version <see cref="Stored"/> completes with, set by the writer before it completes: the request's
    /// view afterwards. Shared with the near cache and the batch's other requests: never changed.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]>? StoredItems { get; set; }

    /// <summary>Completed with the stored version that holds these changes, or with the reason they were not stored.</summary>
    public TaskCompletionSource<StoredSession> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
