using Etcd.AspNetCore.Session.Format;
using Mvccpb;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// One slot of <see cref="SessionCache"/>, from the <see cref="SessionCache.Track"/> that added it until it is evicted or
/// dropped: the reply of a read or write is offered through the ticket its Track returned, and lands only in that slot.
/// A key evicted and tracked again is another slot with another ticket (it may have missed events in between), so a
/// late reply meant for the first never fills it.
/// </summary>
internal sealed class CacheTicket
{
    private readonly SessionCache _cache;

    internal CacheTicket(SessionCache cache, string storageKey)
    {
        _cache = cache;
        StorageKey = storageKey;
    }

    public string StorageKey { get; }

    /// <summary>What etcd answered this instance for the key (<see langword="null"/>: no such key), current as of <paramref name="asOf"/>.</summary>
    public void OfferStored(KeyValue? stored, long asOf) => _cache.OfferStored(this, stored, asOf);

    /// <summary>What this instance wrote for the key, with the items it wrote (which nobody changes afterwards).</summary>
    public void OfferWritten(StoredSession written, IReadOnlyDictionary<string, byte[]> items) => _cache.OfferWritten(this, written, items);
}
