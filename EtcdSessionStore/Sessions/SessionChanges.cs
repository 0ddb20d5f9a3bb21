namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// What one request did to a session (set, remove, clear), kept so that it can be re-applied on top of a
/// newer stored version when another request committed first.
/// </summary>
internal sealed class SessionChanges
{
    private readonly Dictionary<string, byte[]?> _byKey = new(StringComparer.Ordinal);

    public bool Cleared { get; private set; }

    public bool Any => Cleared || _byKey.Count > 0;

    public void Set(string key, byte[] value) => _byKey[key] = value;

    public void Remove(string key) => _byKey[key] = null;

    public void Clear()
    {
        _byKey.Clear();
        Cleared = true;
    }

    public void Reset()
    {
        _byKey.Clear();
        Cleared = false;
    }

    /// <summary>A copy that later changes to this one do not affect.</summary>
    public SessionChanges Copy()
    {
        var copy = new SessionChanges { Cleared = Cleared };
        foreach (var (key, value) in _byKey)
        {
            copy._byKey[key] = value;
        }

        return copy;
    }

    /// <summary>Applies the changes to <paramref name="items"/> in place.</summary>
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
