using System.Collections.Concurrent;
using System.Text;
using Etcd.AspNetCore.Session.Format;
using Mvccpb;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// The sessions this instance used lately, as of the revision etcd last told it, bounded by
/// <see cref="NearCacheOptions.SizeLimit"/>. Three sources update a slot: the watch (<see cref="Apply"/>), this
/// instance's own reads and writes (through the <see cref="CacheTicket"/> of <see cref="Track"/>, and <see cref="OfferGone"/>).
/// A slot only ever moves to a later revision, so a reply that arrives after a newer event cannot bring an old value (or
/// a deleted session) back; a read or write whose result will be offered first places a placeholder (<see cref="Track"/>),
/// so that events for a key not cached yet are not lost while it is on its way, and its reply lands only in that
/// placeholder. A copy is only as fresh as the watch that covers it: nothing is kept or accepted that is current as of a
/// revision before the one preceding the first the watch delivers (<see cref="Cover"/>).
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
    private long _coveredFrom = long.MaxValue; // no watch open yet: nothing is covered

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

    /// <summary>
    /// Starts following <paramref name="storageKey"/> before this instance reads or writes it; the reply is offered
    /// through the returned ticket.
    /// </summary>
    public CacheTicket Track(string storageKey)
    {
        while (true)
        {
            if (_slots.TryGetValue(storageKey, out var current))
            {
                return current.Ticket!; // every slot stored carries the ticket of the Track that added it
            }

            var placeholder = CachedSession.Placeholder(new CacheTicket(this, storageKey));
            if (_slots.TryAdd(storageKey, placeholder))
            {
                Added(storageKey, placeholder.Size);
                return placeholder.Ticket!;
            }
        }
    }

    /// <summary>This instance deleted <paramref name="storageKey"/> (destroy, rotation) at <paramref name="revision"/>: a slot that follows it learns at once.</summary>
    public void OfferGone(string storageKey, long revision) => Replace(storageKey, CachedSession.Gone(storageKey, revision), ticket: null);

    /// <summary>
    /// The watch delivers every event from <paramref name="firstRevision"/> on: it opened from "now", or resumes after
    /// a compaction. A copy current as of an earlier revision than the one before it may have missed events the watch
    /// will never deliver, so such slots (and the placeholders of replies that may be as old) are dropped, and no such
    /// reply is accepted from now on.
    /// </summary>
    public void Cover(long firstRevision)
    {
        Volatile.Write(ref _coveredFrom, firstRevision);
        foreach (var (storageKey, slot) in _slots)
        {
            if (!IsCovered(slot.AsOf))
            {
                Drop(storageKey, slot);
            }
        }
    }

    internal void OfferStored(CacheTicket ticket, KeyValue? stored, long asOf) =>
        Replace(ticket.StorageKey, stored is null ? CachedSession.Gone(ticket.StorageKey, asOf) : CachedSession.Of(ticket.StorageKey, stored, asOf), ticket);

    internal void OfferWritten(CacheTicket ticket, StoredSession written, IReadOnlyDictionary<string, byte[]> items)
    {
        var kv = new KeyValue { Key = Google.Protobuf.ByteString.CopyFromUtf8(ticket.StorageKey), Value = written.Value, ModRevision = written.ModRevision, Lease = written.LeaseId };
        Replace(ticket.StorageKey, CachedSession.Of(ticket.StorageKey, kv, written.ModRevision, new CachedSession.Decoded(written, items)), ticket);
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
        Replace(storageKey, slot, ticket: null);
    }

    /// <summary>Puts <paramref name="slot"/> in the place of an older version; <paramref name="ticket"/>: only in that slot (any, for an event or a deletion).</summary>
    private void Replace(string storageKey, CachedSession slot, CacheTicket? ticket)
    {
        if (!IsCovered(slot.AsOf))
        {
            return; // the watch may have missed events after it: not cached
        }

        while (_slots.TryGetValue(storageKey, out var current))
        {
            if (ticket is not null && !ReferenceEquals(current.Ticket, ticket))
            {
                return; // evicted and tracked again since: another slot, which may have missed events in between
            }

            if (slot.AsOf <= current.AsOf)
            {
                return; // the slot already knows a later state
            }

            slot.Referenced = current.Referenced;
            slot.Ticket = current.Ticket;
            if (_slots.TryUpdate(storageKey, slot, current))
            {
                Grow(slot.Size - current.Size);
                if (!IsCovered(slot.AsOf))
                {
                    Drop(storageKey, slot); // a Cover ran meanwhile and may have passed this key before it was stored
                }

                return;
            }
        }

        // Not followed (evicted meanwhile, or never tracked): events may have been missed, so it is not cached.
    }

    private bool IsCovered(long asOf) => asOf >= Volatile.Read(ref _coveredFrom) - 1;

    private bool Drop(string storageKey, CachedSession slot)
    {
        if (!_slots.TryRemove(new KeyValuePair<string, CachedSession>(storageKey, slot)))
        {
            return false;
        }

        Interlocked.Add(ref _size, -slot.Size);
        return true;
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
                else if (Drop(key, slot))
                {
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
