using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Performance;

/// <summary>
/// How many etcd calls each kind of request costs, counted on the wire by a gRPC interceptor. The clock is
/// frozen so that every write lands on the same expiry second (one lease) unless a test moves it.
/// </summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class RoundTripTests
{
    private readonly EtcdCallInterceptor _counter = new();
    // A time of its own: expiry lease ids derive from the expiry second, so a test whose clock matched another test's
    // (of this run, on the shared etcd) would share that test's leases, and the counts would be off.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow.AddDays(Random.Shared.Next(1_000, 50_000)));

    [Test]
    public async Task RequestWithoutACookie_ThatWritesNothing_MakesNoEtcdCall()
    {
        using var store = CountingTestStore.Create(_counter, _time);

        var session = store.NewSession();
        _ = session.GetString("cart");
        await session.CommitAsync();

        Assert.That(_counter.ByMethod, Is.Empty);
    }

    [Test]
    public async Task ReadOnlyRequest_WithinTheRefreshInterval_MakesExactlyOneRange()
    {
        using var store = CountingTestStore.Create(_counter, _time);
        var secret = await StoreSessionAsync(store);
        _time.Advance(TimeSpan.FromSeconds(10)); // within the refresh interval (one minute by default)
        _counter.Reset();

        var session = await store.OpenAsync(secret);
        _ = session.GetString("user");
        _ = session.GetString("cart");
        await session.CommitAsync();

        Assert.That(_counter.ByMethod, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1 }));
    }

    [Test]
    public async Task RequestThatChangesAnExistingSession_MakesOneRangeAndOneTxn()
    {
        using var store = CountingTestStore.Create(_counter, _time);
        var secret = await StoreSessionAsync(store);
        _counter.Reset();

        var session = await store.OpenAsync(secret);
        session.SetString("cart", "apples, pears");
        await session.CommitAsync();

        Assert.That(_counter.ByMethod, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1, ["Txn"] = 1 }));
    }

    [Test]
    public async Task FirstWritesOfNewSessions_MakeOneTxnEach_AndShareOneLeasePerExpiryBucket()
    {
        using var store = CountingTestStore.Create(_counter, _time);
        var bucket = TimeSpan.FromSeconds(ExpiryLease.BucketWidth((long)new EtcdSessionOptions().IdleTimeout.TotalSeconds));

        var sameBucket = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            sameBucket.Add(await StoreSessionAsync(store));
        }

        var sameBucketCalls = _counter.ByMethod;
        _counter.Reset();
        _time.Advance(bucket);
        var nextBucket = await StoreSessionAsync(store);
        var nextBucketCalls = _counter.ByMethod;

        // The leases as etcd holds them, rather than the grant calls: a grant the gateway retried is still one lease.
        var leases = new List<long>();
        foreach (var secret in sameBucket)
        {
            leases.Add(await LeaseOfAsync(store, secret));
        }

        var nextLease = await LeaseOfAsync(store, nextBucket);
        Assert.Multiple(() =>
        {
            Assert.That(sameBucketCalls.GetValueOrDefault("Txn"), Is.EqualTo(5), "one transaction per new session");
            Assert.That(sameBucketCalls.Keys, Is.SubsetOf(new[] { "Txn", "LeaseGrant" }));
            Assert.That(leases.Distinct().Count(), Is.EqualTo(1), "five new sessions in one expiry bucket share one lease");
            Assert.That(nextBucketCalls.GetValueOrDefault("Txn"), Is.EqualTo(1));
            Assert.That(nextBucketCalls.GetValueOrDefault("LeaseGrant"), Is.GreaterThanOrEqualTo(1), "the next expiry bucket needs a lease of its own");
            Assert.That(nextLease, Is.Not.EqualTo(leases[0]));
        });
    }

    private static async Task<long> LeaseOfAsync(TestStore store, string secret) =>
        (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(secret))).Kvs.Single().Lease;

    private static async Task<string> StoreSessionAsync(TestStore store) =>
        (await store.SeedAsync(("user", "ada"), ("cart", "apples"))).SessionKey;
}
