using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Format;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>The near cache's bookkeeping: revisions only move forward, its size stays under the limit, freshness is proven.</summary>
public sealed class SessionCacheTests
{
    private readonly FakeTimeProvider _time = new();

    [Test]
    public void AReadReply_ThatArrivesAfterANewerDeletion_DoesNotBringTheSessionBack()
    {
        var cache = FreshCache();
        var read = cache.Track("s/a");                    // a read of s/a is on its way
        cache.Apply(Deleted("s/a", revision: 12));       // meanwhile the session is destroyed at 12
        read.OfferStored(Stored("s/a", 8), 11);          // the read's reply, answered at revision 11

        Assert.That(cache.TryGet("s/a", 0, out _), Is.EqualTo(CacheLookup.Miss));
    }

    [Test]
    public void ALateReadReply_DoesNotFillAPlaceholderThatWasEvictedAndTrackedAgain()
    {
        var cache = Covered(new SessionCache(Fresh(), 64 * 1024, Decode));
        var first = cache.Track("s/a");                   // a read of s/a is on its way
        for (var i = 0; i < 1_000 && cache.Evictions == 0; i++)
        {
            cache.Track($"s/{i}");
            cache.Apply(Put($"s/{i}", i + 2));            // s/a's placeholder is evicted
        }

        cache.Apply(Deleted("s/a", revision: 2_000));     // missed: s/a is not followed any more
        cache.Track("s/a");                               // another read of s/a
        first.OfferStored(Stored("s/a", 8), 11);          // the first read's reply, answered before the deletion

        Assert.That(cache.TryGet("s/a", 0, out _), Is.EqualTo(CacheLookup.Miss), "a reply lands only in the placeholder it was tracked for");
    }

    [Test]
    public void ACopyOlderThanTheWatchsCoverage_IsDropped_AndNoReplyThatOldIsAccepted()
    {
        var cache = FreshCache();
        cache.Track("s/old");
        cache.Apply(Put("s/old", 40));
        var early = cache.Track("s/early");               // a read answered before the watch (re)opened
        var late = cache.Track("s/late");                 // one answered after

        cache.Cover(firstRevision: 100);                   // the watch delivers revisions 100 and later
        early.OfferStored(Stored("s/early", 30), 98);
        cache.Track("s/late").OfferStored(Stored("s/late", 30), 99);

        Assert.Multiple(() =>
        {
            Assert.That(cache.TryGet("s/old", 0, out _), Is.EqualTo(CacheLookup.Miss), "current as of 40: events 41 to 99 may be missing");
            Assert.That(cache.TryGet("s/early", 0, out _), Is.EqualTo(CacheLookup.Miss), "answered as of 98: event 99 may be missing");
            Assert.That(cache.TryGet("s/late", 0, out _), Is.EqualTo(CacheLookup.Hit), "answered as of 99: the watch delivers everything after it");
            Assert.That(late, Is.Not.SameAs(cache.Track("s/late")), "the placeholder from before the coverage was dropped: its reply cannot land");
        });
    }

    [Test]
    public void AnEventForAKeyNotFollowed_IsIgnored_AndAFollowedKeyTakesOnlyNewerVersions()
    {
        var cache = FreshCache();
        cache.Apply(Put("s/unknown", 5));
        cache.Track("s/a");
        cache.Apply(Put("s/a", 7, "seven"));
        cache.Apply(Put("s/a", 6, "six")); // late and older: ignored

        Assert.Multiple(() =>
        {
            Assert.That(cache.Count, Is.EqualTo(1));
            Assert.That(cache.TryGet("s/a", 0, out var hit), Is.EqualTo(CacheLookup.Hit));
            Assert.That(hit!.Session.ModRevision, Is.EqualTo(7));
            Assert.That(cache.TryGet("s/a", minRevision: 8, out _), Is.EqualTo(CacheLookup.Miss), "older than the client's own last write");
        });
    }

    [Test]
    public void WithoutAProvenHeartbeat_OrPastMaxStaleness_ReadsBypassTheCache()
    {
        var freshness = new CacheFreshness(_time, TimeSpan.FromSeconds(1));
        var cache = Covered(new SessionCache(freshness, 1 << 20, Decode));
        cache.Track("s/a");
        cache.Apply(Put("s/a", 3));
        var beforeAnyHeartbeat = cache.TryGet("s/a", 0, out _);

        freshness.HeartbeatSending(1);
        _time.Advance(TimeSpan.FromMilliseconds(300));
        freshness.HeartbeatDelivered(1);
        var proven = cache.TryGet("s/a", 0, out _);
        _time.Advance(TimeSpan.FromMilliseconds(800)); // 1.1 s since that heartbeat was sent
        var stale = cache.TryGet("s/a", 0, out _);

        Assert.Multiple(() =>
        {
            Assert.That(beforeAnyHeartbeat, Is.EqualTo(CacheLookup.Bypass));
            Assert.That(proven, Is.EqualTo(CacheLookup.Hit));
            Assert.That(stale, Is.EqualTo(CacheLookup.Bypass), "freshness counts from when the heartbeat was sent, not when it arrived");
        });
    }

    [Test]
    public void ManySessions_StayUnderTheSizeLimit_AndRecentlyReadOnesSurvive()
    {
        const long limit = 1 << 20;
        var cache = Covered(new SessionCache(Fresh(), limit, Decode));
        cache.Track("s/hot");
        cache.Apply(Put("s/hot", 1));
        var maxSize = 0L;
        for (var i = 0; i < 20_000; i++)
        {
            var key = $"s/{i}";
            cache.Track(key);
            cache.Apply(Put(key, i + 2));
            maxSize = Math.Max(maxSize, cache.Size);
            Assert.That(cache.TryGet("s/hot", 0, out _), Is.EqualTo(CacheLookup.Hit), $"after {i} sessions");
        }

        Assert.Multiple(() =>
        {
            Assert.That(maxSize, Is.LessThanOrEqualTo(limit + 4096), "at most one slot over the limit, while it evicts");
            Assert.That(cache.Evictions, Is.GreaterThan(10_000));
            Assert.That(cache.Count, Is.LessThan(20_000));
        });
    }

    private SessionCache FreshCache() => Covered(new SessionCache(Fresh(), 1 << 20, Decode));

    /// <summary>As the watch leaves it once open: it delivers every revision from the first on.</summary>
    private static SessionCache Covered(SessionCache cache)
    {
        cache.Cover(firstRevision: 1);
        return cache;
    }

    private CacheFreshness Fresh()
    {
        var freshness = new CacheFreshness(_time, TimeSpan.FromSeconds(1));
        freshness.HeartbeatSending(1);
        freshness.HeartbeatDelivered(1);
        return freshness;
    }

    private static (StoredSession, Dictionary<string, byte[]>) Decode(KeyValue kv) =>
        (new StoredSession(new SessionHeader("id", DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(20), null, "json", null, null), kv.Value, kv.ModRevision, kv.Lease),
         new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["v"] = kv.Value.ToByteArray() });

    private static KeyValue Stored(string key, long revision, string value = "x") =>
        new() { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(new byte[300]), ModRevision = revision };

    private static Event Put(string key, long revision, string value = "x") =>
        new() { Type = Event.Types.EventType.Put, Kv = Stored(key, revision, value) };

    private static Event Deleted(string key, long revision) =>
        new() { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = ByteString.CopyFromUtf8(key), ModRevision = revision } };
}
