using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

public sealed class ConcurrencyTests
{
    [Test]
    public async Task Flush_TwoRequestsChangingDifferentKeys_BothPersist()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("base", "0"));

        var a = await store.OpenAsync(seed.SessionKey);
        var b = await store.OpenAsync(seed.SessionKey);
        a.SetString("from-a", "A");
        b.SetString("from-b", "B");
        b.Remove("base");
        await a.CommitAsync();
        await b.CommitAsync();

        var result = await store.OpenAsync(seed.SessionKey);
        Assert.Multiple(() =>
        {
            Assert.That(result.GetString("from-a"), Is.EqualTo("A"));
            Assert.That(result.GetString("from-b"), Is.EqualTo("B"));
            Assert.That(result.GetString("base"), Is.Null);
        });
    }

    [Test]
    public async Task Flush_ManyParallelRequests_EachAddingItsOwnKey_LoseNothing()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("seed", "1"));

        var sessions = new List<Etcd.AspNetCore.Session.Sessions.EtcdSession>();
        for (var i = 0; i < 16; i++)
        {
            var s = await store.OpenAsync(seed.SessionKey);
            s.SetString($"k{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            sessions.Add(s);
        }

        await Task.WhenAll(sessions.Select(s => s.CommitAsync()));

        var result = await store.OpenAsync(seed.SessionKey);
        Assert.That(result.Keys.Count(), Is.EqualTo(17));
    }

    [Test]
    public async Task Flush_ClearRacingASet_ReappliesTheClearOnTopOfTheOtherWrite()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("x", "1"));

        var writer = await store.OpenAsync(seed.SessionKey);
        var clearer = await store.OpenAsync(seed.SessionKey);
        writer.SetString("y", "2");
        clearer.Clear();
        clearer.SetString("z", "3");
        await writer.CommitAsync();
        await clearer.CommitAsync();

        var result = await store.OpenAsync(seed.SessionKey);
        Assert.That(result.Keys, Is.EquivalentTo(new[] { "z" }));
    }

    [Test]
    public async Task Flush_NewSessionCollidingWithOneAnotherRequestCreated_DoesNotOverwriteIt()
    {
        using var store = TestStore.Create();
        const string key = "shared-new-key-from-the-stock-middleware";
        var first = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
        var second = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
        first.SetString("first", "1");
        second.SetString("second", "2");

        await first.CommitAsync();
        await second.CommitAsync();

        var result = store.Store.Create(key, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await result.LoadAsync();
        Assert.Multiple(() =>
        {
            Assert.That(result.GetString("first"), Is.EqualTo("1"));
            Assert.That(result.GetString("second"), Is.EqualTo("2"));
        });
    }

    [Test]
    public async Task Flush_AfterTheSessionWasDestroyedByAnotherRequest_DoesNotResurrectIt()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("a", "1"));
        var slow = await store.OpenAsync(seed.SessionKey);
        var signOut = await store.OpenAsync(seed.SessionKey);

        await signOut.DestroyAsync();
        slow.SetString("late", "write");
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => slow.CommitAsync());

        Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict), "never a silent drop: the request learns its change was not stored");
        Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(seed.SessionKey))).Count, Is.Zero);
    }

}
