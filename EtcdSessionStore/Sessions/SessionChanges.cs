using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// What one request did to a session: the items it set, removed or cleared, the idle timeout it chose, and the user it
/// bound a session not stored yet to. Kept so that it can be re-applied on top of a newer stored version when another
/// request committed first. <see cref="EtcdSession"/> keeps one as its change log; a commit hands
/// <see cref="SessionRepository.CommitAsync"/> a copy (<see cref="ToCommit"/>) that also says what it was made over.
/// </summary>
internal sealed class SessionChanges
{
    private readonly Dictionary<string, byte[]?> _byKey = new(StringComparer.Ordinal);

    public bool Cleared { get; private set; }

    /// <summary>The request set, removed or cleared items.</summary>
    public bool ItemsChanged => Cleared || _byKey.Count > 0;

    /// <summary>Anything to commit: items, a chosen idle timeout or a binding.</summary>
    public bool Any => ItemsChanged || ChosenIdleTimeout is not null || Binding is not null;

    /// <summary>The idle timeout the request chose for this session (<c>SetIdleTimeout</c>), if it did.</summary>
    public TimeSpan? ChosenIdleTimeout { get; set; }

    /// <summary>The user a session stored for the first time is bound to, if the request signed in before it was stored.</summary>
    public UserBinding? Binding { get; set; }

    /// <summary>In a commit's copy: the session's public id (for a session stored for the first time, the one it gets).</summary>
    public string Id { get; private init; } = "";

    /// <summary>In a commit's copy: the stored version the request last saw; <see langword="null"/> for a session not stored yet.</summary>
    public StoredSession? Loaded { get; private init; }

    /// <summary>
    /// In a commit's copy: the request's own view, <see cref="Loaded"/>'s items with these changes applied (the session
    /// keeps it so: after a commit its view is the committed items). Shared with the writer: never changed.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> Items { get; private init; } = new Dictionary<string, byte[]>();

    /// <summary>In a commit's copy: the app's sliding expiry.</summary>
    public TimeSpan IdleTimeout { get; private init; }

    /// <summary>In a commit's copy: the request must not push the expiry forward (<c>WithoutSessionRefresh()</c>).</summary>
    public bool KeepExpiry { get; private init; }

    public void Set(string key, byte[] value) => _byKey[key] = value;

    public void Remove(string key) => _byKey[key] = null;

    public void Clear()
    {
        _byKey.Clear();
        Cleared = true;
    }

    /// <summary>Forgets everything: it was committed.</summary>
    public void Reset()
    {
        ResetItems();
        ChosenIdleTimeout = null;
        Binding = null;
    }

    /// <summary>Forgets the item changes: they were written (by a rotation), or belong to a session that is gone.</summary>
    public void ResetItems()
    {
        _byKey.Clear();
        Cleared = false;
    }

    /// <summary>The copy a commit hands over (later changes to this one do not affect it), with what the changes were made over.</summary>
    public SessionChanges ToCommit(string id, StoredSession? loaded, IReadOnlyDictionary<string, byte[]> items, TimeSpan idleTimeout, bool keepExpiry)
    {
        var copy = new SessionChanges
        {
            Cleared = Cleared,
            ChosenIdleTimeout = ChosenIdleTimeout,
            Binding = Binding,
            Id = id,
            Loaded = loaded,
            Items = items,
            IdleTimeout = idleTimeout,
            KeepExpiry = keepExpiry,
        };
        foreach (var (key, value) in _byKey)
        {
            copy._byKey[key] = value;
        }

        return copy;
    }

    /// <summary>Applies the item changes to <paramref name="items"/> in place.</summary>
    public void ApplyTo(Dictionary<string, byte[]> items)
    {
        if (Cleared)
        {
            items.Clear();
        }

        foreach (var (key, value) in _byKey)
        {
            if (value is null)
            {
                items.Remove(key);
            }
            else
            {
                items[key] = value;
            }
        }
    }
}
