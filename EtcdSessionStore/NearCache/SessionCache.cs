using System.Collections.Concurrent;
using System.Text;
using Etcd.AspNetCore.Session.Format;
using Mvccpb;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// The sessions this instance used lately, as of the revision etcd last told it, bounded by
/// <see cref="NearCacheOptions.SizeLimit"/>. Three sources update a slot: the watch (<see cref="Apply"/>), this
/// instance's own reads and writes (<see cref="OfferStored"/>, <see cref="OfferWritten"/>). A slot only ever moves to a later
/// revision, so a reply that arrives after a newer event cannot bring an old value (or a deleted session) back; and a
/// read or write whose result will be offered first places a placeholder (<see cref="Track"/>), so that events for a
/// key not cached yet are not lost while it is on its way.
/// </summary>
internal sealed class SessionCache
{
    private readonly ConcurrentDictionary<string, CachedSession> _slots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedSession>.AlternateLookup<ReadOnlySpan<char>> _slotsBySpan;
    private readonly ConcurrentQueue<string> _clock = new();
    private readonly long _sizeLimit;
    private readonly Func<KeyValue, (StoredSession, Dictionary<string, byte[]>)> _decode;
    private long _size;
    private int _evicting;

    public SessionCache(CacheFreshness freshness, long sizeLimit, Func<KeyValue, (StoredSession, Dictionary<string, byte[]>)> decode)
    {
        Freshness = freshness;
        _sizeLimit = sizeLimit;
        _decode = decode;
        _slotsBySpan = _slots.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public CacheFreshness Freshness { get; }

    /// <summary>The estimated memory the cached sessions take, in bytes.</summary>
    public long Size => Interlocked.Read(ref _size);

    public int Count => _slots.Count;

    /// <summary>Slots dropped to stay under the size limit, since start.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    private long _evictions;

    /// <summary>
    /// The cached session at <paramref name="storageKey"/>, if the cache can answer: it is fresh and holds a version
    /// at least as new as <paramref name="minRevision"/> (the revision of the client's own last write).
    /// </summary>
    public CacheLookup TryGet(string storageKey, long minRevision, out CachedSession.Decoded? session)
    {
        session = null;
        if (!Freshness.IsFresh)
        {
            return CacheLookup.Bypass;
        }

        if (!_slots.TryGetValue(storageKey, out var slot) || slot.Stored is null || slot.Stored.ModRevision < minRevision)
        {
            return CacheLookup.Miss;
        }

        session = slot.Decode(_decode);
        if (session is null)
        {
            return CacheLookup.Miss;
        }

        slot.Referenced = true;
        return CacheLookup.Hit;
    }

    /// <summary>Starts following <paramref name="storageKey"/> before this instance reads or writes it.</summary>
    public void Track(string storageKey)
    {
        if (_slots.ContainsKey(storageKey))
        {
            return;
        }

        var placeholder = CachedSession.Placeholder(storageKey);
        if (_slots.TryAdd(storageKey, placeholder))
        {
            Added(storageKey, placeholder.Size);
        }
    }

    /// <summary>What etcd answered this instance for <paramref name="storageKey"/> (<see langword="null"/>: no such key), current as of <paramref name="asOf"/>.</summary>
    public void OfferStored(string storageKey, KeyValue? stored, long asOf) =>
        Replace(storageKey, stored is null ? CachedSession.Gone(storageKey, asOf) : CachedSession.Of(storageKey, stored, asOf));

    /// <summary>What this instance wrote for <paramref name="storageKey"/>, with the items it wrote (which nobody changes afterwards).</summary>
    public void OfferWritten(string storageKey, StoredSession written, IReadOnlyDictionary<string, byte[]> items)
    {
        var kv = new KeyValue { Key = Google.Protobuf.ByteString.CopyFromUtf8(storageKey), Value = written.Value, ModRevision = written.ModRevision, Lease = written.LeaseId };
        Replace(storageKey, CachedSession.Of(storageKey, kv, written.ModRevision, new CachedSession.Decoded(written, items)));
    }

    /// <summary>A watch event: updates the slot of a key this instance follows; ignores every other key without allocating.</summary>
    public void Apply(Event change)
    {
        var key = change.Kv.Key.Span;
        Span<char> chars = stackalloc char[Math.Min(key.Length, 512)];
        if (key.Length > chars.Length || Encoding.UTF8.GetChars(key, chars) is var length && !_slotsBySpan.TryGetValue(chars[..length], out _, out _))
        {
            return;
        }

        var storageKey = change.Kv.Key.ToStringUtf8();
        var slot = change.Type == Event.Types.EventType.Put
            ? CachedSession.Of(storageKey, change.Kv, change.Kv.ModRevision)
            : CachedSession.Gone(storageKey, change.Kv.ModRevision);
        Replace(storageKey, slot);
    }

    /// <summary>Forgets everything: the watch missed events it cannot get back (compaction).</summary>
    public void Clear()
    {
        _slots.Clear();
        _clock.Clear();
        Interlocked.Exchange(ref _size, 0);
    }

    private void Replace(string storageKey, CachedSession slot)
    {
        while (_slots.TryGetValue(storageKey, out var current))
        {
            if (slot.AsOf <= current.AsOf)
            {
                return; // the slot already knows a later state
            }

            slot.Referenced = current.Referenced;
            if (_slots.TryUpdate(storageKey, slot, current))
            {
                Grow(slot.Size - current.Size);
                return;
            }
        }

        // Not followed (evicted meanwhile, or never tracked): events may have been missed, so it is not cached.
    }

    private void Added(string storageKey, long size)
    {
        _clock.Enqueue(storageKey);
        Grow(size);
    }

    private void Grow(long delta)
    {
        if (Interlocked.Add(ref _size, delta) > _sizeLimit)
        {
            EvictToLowWater();
        }
    }

    /// <summary>
    /// The CLOCK approximation of least-recently used: the hand passes over keys in the order they were added; a slot
    /// read since the last pass gets a second chance, any other goes, until the cache is down to 90 % of its limit.
    /// </summary>
    private void EvictToLowWater()
    {
        if (Interlocked.Exchange(ref _evicting, 1) == 1)
        {
            return; // another thread is evicting
        }

        try
        {
            var lowWater = _sizeLimit / 10 * 9;
            var budget = (_slots.Count * 2) + 16; // two passes at most: every slot loses its second chance in the first
            while (Interlocked.Read(ref _size) > lowWater && budget-- > 0 && _clock.TryDequeue(out var key))
            {
                if (!_slots.TryGetValue(key, out var slot))
                {
                    continue;
                }

                if (slot.Referenced)
                {
                    slot.Referenced = false;
                    _clock.Enqueue(key);
                }
                else if (_slots.TryRemove(new KeyValuePair<string, CachedSession>(key, slot)))
                {
                    Interlocked.Add(ref _size, -slot.Size);
                    Interlocked.Increment(ref _evictions);
                }
                else
                {
                    _clock.Enqueue(key); // replaced meanwhile: look again on the next pass
                }
            }
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }
    }
}

/// <summary>What the near cache could do for a read.</summary>
internal enum CacheLookup
{
    /// <summary>Answered from the cache.</summary>
    Hit,

    /// <summary>Not cached (or older than the client's last write): read etcd.</summary>
    Miss,

    /// <summary>The cache cannot prove it is fresh: read etcd.</summary>
    Bypass,
}
