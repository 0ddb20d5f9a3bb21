using Etcd.AspNetCore.Session.Format;
using Mvccpb;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// One key's slot in the near cache: a session as stored at some revision, the news that it is gone, or a placeholder
/// for a read or write of this instance that is on its way. Immutable but for the lazily decoded items and the
/// eviction clock's bit; a newer version replaces the slot.
/// </summary>
internal sealed class CachedSession
{
    /// <summary>Per-entry bookkeeping (dictionary node, slot, strings), added to the stored size.</summary>
    private const int Overhead = 256;

    private Decoded? _decoded;
    private int _referenced;

    private CachedSession(long asOf, KeyValue? stored, Decoded? decoded, int storageKeyLength)
    {
        AsOf = asOf;
        Stored = stored;
        _decoded = decoded;
        // The raw value and the decoded items each take about the stored size.
        Size = Overhead + (storageKeyLength * 2) + ((stored?.Value.Length ?? 0) * 2L);
    }

    /// <summary>The revision this slot is current as of: a later event or read replaces it, an earlier one never does.</summary>
    public long AsOf { get; }

    /// <summary>The stored key-value, or <see langword="null"/> when the session is gone or not known yet.</summary>
    public KeyValue? Stored { get; }

    public bool IsPlaceholder => AsOf == 0;

    /// <summary>The slot this version belongs to: set by <see cref="SessionCache"/> before the version is stored, and carried to every later version.</summary>
    public CacheTicket? Ticket { get; set; }

    public long Size { get; }

    /// <summary>For the eviction clock: used since the clock hand last passed.</summary>
    public bool Referenced
    {
        get => Volatile.Read(ref _referenced) == 1;
        set => Volatile.Write(ref _referenced, value ? 1 : 0);
    }

    public static CachedSession Placeholder(CacheTicket ticket) => new(0, null, null, ticket.StorageKey.Length) { Ticket = ticket };

    public static CachedSession Gone(string storageKey, long revision) => new(revision, null, null, storageKey.Length);

    public static CachedSession Of(string storageKey, KeyValue stored, long asOf, Decoded? decoded = null) => new(asOf, stored, decoded, storageKey.Length);

    /// <summary>The session decoded (once, by the first reader); <see langword="null"/> for a value that cannot be read.</summary>
    public Decoded? Decode(Func<KeyValue, (StoredSession, Dictionary<string, byte[]>)> decode)
    {
        if (Volatile.Read(ref _decoded) is { } decoded || Stored is null)
        {
            return _decoded;
        }

        try
        {
            var (stored, items) = decode(Stored);
            decoded = new Decoded(stored, items);
        }
        catch (EtcdSessionException)
        {
            return null; // the read goes to etcd, which reports the corrupt value as it does without the cache
        }

        Volatile.Write(ref _decoded, decoded);
        return decoded;
    }

    /// <summary>A cached session: shared by every request that reads it, so nobody may change the items.</summary>
    internal sealed record Decoded(StoredSession Session, IReadOnlyDictionary<string, byte[]> Items);
}
