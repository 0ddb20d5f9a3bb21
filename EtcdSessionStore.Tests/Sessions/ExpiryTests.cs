using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

public sealed class ExpiryTests
{
    [Test]
    public async Task IdleSession_IsRemovedByEtcdItself_AndUnreadable()
    {
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromSeconds(2));
        var session = await store.SeedAsync(("a", "1"));
        var key = store.StorageKeyOf(session.SessionKey);

        await WaitUntilAsync(async () => (await EtcdFixture.Client.GetAsync(key)).Count == 0, TimeSpan.FromSeconds(10));
        var reopened = await store.OpenAsync(session.SessionKey);

        Assert.That(reopened.GetString("a"), Is.Null);
    }

    [Test]
    public async Task Write_AttachesTheKeyToTheLeaseOfItsExpiryBucket()
    {
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(10));
        var before = DateTimeOffset.UtcNow;
        var session = await store.SeedAsync(("a", "1"));

        var kv = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Kvs[0];
        var expiry = ExpiryLease.ExpiryOf(kv.Lease);
        var ttl = await EtcdFixture.Client.LeaseTimeToLiveAsync(new Etcdserverpb.LeaseTimeToLiveRequest { ID = kv.Lease });

        Assert.Multiple(() =>
        {
            Assert.That(expiry, Is.Not.Null);
            // Ten minutes away, the lease's bucket is 8 s wide: it ends up to 8 s after the deadline, never before.
            Assert.That(expiry!.Value, Is.InRange(before.AddMinutes(10), before.AddMinutes(10).AddSeconds(8 + 3)));
            Assert.That(ttl.TTL, Is.InRange(590, 610));
        });
    }

    [Test]
    public async Task ReadOnlyRequest_DoesNotRewriteTheValue_AndRefreshesAtMostOncePerInterval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = TestStore.Create(
            o => { o.IdleTimeout = TimeSpan.FromMinutes(10); o.RefreshInterval = TimeSpan.FromMinutes(1); },
            s => s.AddSingleton<TimeProvider>(time));
        var session = await store.SeedAsync(("a", "1"));
        var key = store.StorageKeyOf(session.SessionKey);
        var written = (await EtcdFixture.Client.GetAsync(key)).Kvs[0];

        time.Advance(TimeSpan.FromSeconds(30));
        await (await store.OpenAsync(session.SessionKey)).CommitAsync();
        var early = (await EtcdFixture.Client.GetAsync(key)).Kvs[0];

        time.Advance(TimeSpan.FromSeconds(60));
        await (await store.OpenAsync(session.SessionKey)).CommitAsync();
        var refreshed = (await EtcdFixture.Client.GetAsync(key)).Kvs[0];

        Assert.Multiple(() =>
        {
            Assert.That(early.ModRevision, Is.EqualTo(written.ModRevision), "within the interval: no etcd write");
            Assert.That(refreshed.Value, Is.EqualTo(written.Value), "the value is never rewritten by a read");
            Assert.That(refreshed.Version, Is.EqualTo(written.Version + 1), "one cheap touch after the interval");
            Assert.That(ExpiryLease.ExpiryOf(refreshed.Lease), Is.GreaterThan(ExpiryLease.ExpiryOf(written.Lease)!.Value));
        });
    }

    [Test]
    public async Task SessionPastItsIdleDeadline_IsRejectedOnRead_EvenWhileEtcdStillHoldsIt()
    {
        // etcd restarts lease TTLs on a leader change; the deadline in the lease id still holds.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(5), s => s.AddSingleton<TimeProvider>(time));
        var session = await store.SeedAsync(("a", "1"));

        time.Advance(TimeSpan.FromMinutes(6));
        var reopened = await store.OpenAsync(session.SessionKey);

        Assert.Multiple(async () =>
        {
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Count, Is.EqualTo(1));
            Assert.That(reopened.GetString("a"), Is.Null);
            Assert.That(reopened.SessionKey, Is.Not.EqualTo(session.SessionKey));
        });
    }

    [Test]
    public async Task StockMiddlewarePath_WritingToAnExpiredSessionEtcdStillHolds_StartsAfresh_WithoutTheExpiredItems()
    {
        // The stock UseSession() adopts the key it was given, so the write goes to the same key as the dead session.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(5), s => s.AddSingleton<TimeProvider>(time));
        const string key = "stock-middleware-key";
        var first = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
        first.SetString("secret-of-the-dead-session", "1");
        await first.CommitAsync();

        time.Advance(TimeSpan.FromMinutes(6));
        var later = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await later.LoadAsync();
        later.SetString("fresh", "2");
        await later.CommitAsync();
        var reread = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await reread.LoadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(reread.GetString("fresh"), Is.EqualTo("2"));
            Assert.That(reread.GetString("secret-of-the-dead-session"), Is.Null, "an expired session's items are never written back");
        });
    }

    [Test]
    public async Task AbsoluteTimeout_EndsAnActiveSession()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = TestStore.Create(
            o => { o.IdleTimeout = TimeSpan.FromMinutes(5); o.AbsoluteTimeout = TimeSpan.FromMinutes(8); },
            s => s.AddSingleton<TimeProvider>(time));
        var session = await store.SeedAsync(("a", "1"));

        // Active every 4 minutes: idle expiry never hits, the absolute one does.
        time.Advance(TimeSpan.FromMinutes(4));
        var active = await store.OpenAsync(session.SessionKey);
        active.SetString("b", "2");
        await active.CommitAsync();
        time.Advance(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(1));
        var reopened = await store.OpenAsync(session.SessionKey);

        Assert.Multiple(() =>
        {
            Assert.That(active.GetString("a"), Is.EqualTo("1"));
            Assert.That(reopened.GetString("a"), Is.Null);
            Assert.That(reopened.GetString("b"), Is.Null);
        });
    }

    [Test]
    public async Task AbsoluteTimeout_CapsTheLease_SoEtcdRemovesTheSessionInTime()
    {
        using var store = TestStore.Create(o => { o.IdleTimeout = TimeSpan.FromMinutes(5); o.AbsoluteTimeout = TimeSpan.FromSeconds(2); });
        var session = await store.SeedAsync(("a", "1"));
        var key = store.StorageKeyOf(session.SessionKey);

        await WaitUntilAsync(async () => (await EtcdFixture.Client.GetAsync(key)).Count == 0, TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task SetIdleTimeout_ToAShorterValue_OnAStoredSession_MovesItToAnEarlierLease_SoEtcdRemovesItInTime()
    {
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromDays(30));
        var seed = await store.SeedAsync(("a", "1"));
        var key = store.StorageKeyOf(seed.SessionKey);
        var session = await store.OpenAsync(seed.SessionKey);
        session.SetIdleTimeout(TimeSpan.FromSeconds(3));
        session.SetString("b", "2");
        await session.CommitAsync();

        await AssertOnAnEarlierLease_ThatEtcdRemovesAsync(key);
    }

    [Test]
    public async Task LoweringIdleTimeoutAppWide_MovesAStoredSessionToAnEarlierLease_OnItsNextReadOnlyRequest()
    {
        using var before = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromDays(30));
        var seed = await before.SeedAsync(("a", "1"));
        var key = before.StorageKeyOf(seed.SessionKey);
        using var after = TestStore.Create(o => { o.IdleTimeout = TimeSpan.FromSeconds(3); o.KeyPrefix = before.Prefix; });
        var visit = await after.OpenAsync(seed.SessionKey);
        Assert.That(visit.GetString("a"), Is.EqualTo("1"));
        await visit.CommitAsync();

        await AssertOnAnEarlierLease_ThatEtcdRemovesAsync(key);
    }

    /// <summary>The key left its 30-day lease for one of the shorter timeout, and etcd removes it within seconds.</summary>
    private static async Task AssertOnAnEarlierLease_ThatEtcdRemovesAsync(string key)
    {
        var lease = (await EtcdFixture.Client.GetAsync(key)).Kvs[0].Lease;
        Assert.That(ExpiryLease.ExpiryOf(lease), Is.LessThan(DateTimeOffset.UtcNow.AddMinutes(1)), "the 30-day lease was kept");
        await WaitUntilAsync(async () => (await EtcdFixture.Client.GetAsync(key)).Count == 0, TimeSpan.FromSeconds(20));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        if (!await Eventually.TrueAsync(condition, timeout, TimeSpan.FromMilliseconds(200)))
        {
            Assert.Fail($"Condition not met within {timeout}.");
        }
    }
}
