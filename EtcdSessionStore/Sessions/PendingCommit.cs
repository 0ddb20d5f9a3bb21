using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>One request's change set for a session, as <see cref="SessionRepository.CommitAsync"/> writes it (alone or together with other requests').</summary>
/// <param name="Id">The session's public id (for a session stored for the first time, the one it gets).</param>
/// <param name="Loaded">The stored version the request last saw; <see langword="null"/> for a session not stored yet.</param>
/// <param name="Changes">What the request did (a copy: the request may go on changing its session).</param>
/// <param name="Items">
/// The request's own view: <paramref name="Loaded"/>'s items with <paramref name="Changes"/> applied (the session keeps it
/// so: after a commit its view is <see cref="Committed.Items"/>). Shared with the writer: never changed.
/// </param>
/// <param name="IdleTimeout">The app's sliding expiry.</param>
/// <param name="ChosenIdleTimeout">The idle timeout the request chose for this session (<c>SetIdleTimeout</c>), if it did.</param>
/// <param name="Binding">The user a session stored for the first time is bound to, if the request signed in before it was stored.</param>
/// <param name="KeepExpiry">The request must not push the expiry forward (<c>WithoutSessionRefresh()</c>).</param>
internal sealed record PendingCommit(
    string Id,
    StoredSession? Loaded,
    SessionChanges Changes,
    IReadOnlyDictionary<string, byte[]> Items,
    TimeSpan IdleTimeout,
    TimeSpan? ChosenIdleTimeout,
    UserBinding? Binding,
    bool KeepExpiry);
