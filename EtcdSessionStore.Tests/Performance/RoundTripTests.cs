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
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

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
    public async Task FirstWriteOfANewSession_MakesOneTxn_AndOneLeaseGrantPerExpirySecond()
    {
        using var store = CountingTestStore.Create(_counter, _time);

        for (var i = 0; i < 5; i++)
        {
            await StoreSessionAsync(store);
        }

        var sameSecond = _counter.ByMethod;
        _counter.Reset();
        _time.Advance(TimeSpan.FromSeconds(1));
        await StoreSessionAsync(store);
        var nextSecond = _counter.ByMethod;

        Assert.Multiple(() =>
        {
            Assert.That(sameSecond, Is.EquivalentTo(new Dictionary<string, int> { ["Txn"] = 5, ["LeaseGrant"] = 1 }),
                "five new sessions in one expiry second share one lease grant");
            Assert.That(nextSecond, Is.EquivalentTo(new Dictionary<string, int> { ["Txn"] = 1, ["LeaseGrant"] = 1 }),
                "the next expiry second needs its own lease");
        });
    }

    private static async Task<string> StoreSessionAsync(TestStore store) =>
        (await store.SeedAsync(("user", "ada"), ("cart", "apples"))).SessionKey;
}
