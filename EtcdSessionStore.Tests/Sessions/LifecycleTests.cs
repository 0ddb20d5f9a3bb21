using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

public sealed class LifecycleTests
{
    [Test]
    public async Task Flush_NewSession_IsReadableByTheNextRequest()
    {
        using var store = TestStore.Create();
        var first = store.NewSession();
        first.SetString("cart", "apples");
        first.Set("bytes", [0, 255, 1]);
        await first.CommitAsync();

        var second = await store.OpenAsync(first.SessionKey);

        Assert.Multiple(() =>
        {
            Assert.That(second.IsStored, Is.True);
            Assert.That(second.GetString("cart"), Is.EqualTo("apples"));
            Assert.That(second.Get("bytes"), Is.EqualTo(new byte[] { 0, 255, 1 }));
            Assert.That(second.Id, Is.EqualTo(first.Id));
            Assert.That(second.SessionKey, Is.EqualTo(first.SessionKey));
        });
    }

    [Test]
    public async Task Flush_WhenNothingChanged_WritesNothing()
    {
        using var store = TestStore.Create();
        var first = await store.SeedAsync(("a", "1"));
        var before = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(first.SessionKey))).Kvs[0].ModRevision;

        var second = await store.OpenAsync(first.SessionKey);
        _ = second.GetString("a");
        await second.CommitAsync();

        var after = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(first.SessionKey))).Kvs[0].ModRevision;
        Assert.That(after, Is.EqualTo(before));
    }

    [Test]
    public async Task Flush_NewSessionLeftEmpty_WritesNothing()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        session.SetString("a", "1");
        session.Remove("a");
        await session.CommitAsync();

        var stored = await EtcdFixture.Client.GetRangeAsync(store.Prefix);
        Assert.That(stored.Count, Is.Zero);
    }

    [Test]
    public async Task Retrieve_UnknownKey_StartsAFreshSessionUnderANewKey()
    {
        using var store = TestStore.Create();
        var planted = "attacker-chosen-key-0123456789";

        var session = await store.OpenAsync(planted);
        session.SetString("user", "alice");
        await session.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(session.SessionKey, Is.Not.EqualTo(planted));
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(planted))).Count, Is.Zero);
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Count, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Retrieve_UnknownKeyThroughISessionStore_AdoptsTheKeyLikeTheStockStore()
    {
        using var store = TestStore.Create();
        var session = store.Store.Create("stock-middleware-key", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await session.LoadAsync();
        session.SetString("k", "v");
        await session.CommitAsync();

        Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf("stock-middleware-key"))).Count, Is.EqualTo(1));
    }

    [Test]
    public void SyncMembers_BeforeLoad_ThrowInsteadOfBlockingOnIo()
    {
        using var store = TestStore.Create();
        var session = store.Store.Create("some-key", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);

        var ex = Assert.Throws<InvalidOperationException>(() => session.GetString("x"));
        Assert.That(ex!.Message, Does.Contain("LoadAsync"));
    }

    [Test]
    public async Task Set_AfterResponseStarted_OnANewSession_Throws()
    {
        using var store = TestStore.Create();
        var session = store.Store.CreateStrict(null);

        await session.LoadAsync();
        session.CloseToNewSessions(); // what UseEtcdSession does as the response starts

        Assert.Throws<InvalidOperationException>(() => session.SetString("x", "1"));
    }

    [Test]
    public async Task Destroy_RemovesExactlyThatSession_AndIsIdempotent()
    {
        using var store = TestStore.Create();
        var victim = await store.SeedAsync(("a", "1"));
        var neighbour = await store.SeedAsync(("b", "2"));
        // A key that extends the victim's etcd key: a prefix delete would take it too.
        var extended = store.StorageKeyOf(victim.SessionKey) + "x";
        await EtcdFixture.Client.PutAsync(extended, "keep");
        var victimKey = victim.SessionKey;

        var loaded = await store.OpenAsync(victimKey);
        await loaded.DestroyAsync();
        await loaded.DestroyAsync();

        Assert.Multiple(async () =>
        {
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(victimKey))).Count, Is.Zero);
            Assert.That((await EtcdFixture.Client.GetAsync(extended)).Count, Is.EqualTo(1));
            Assert.That((await store.OpenAsync(neighbour.SessionKey)).GetString("b"), Is.EqualTo("2"));
            Assert.That(loaded.SessionKey, Is.Not.EqualTo(victimKey));
            Assert.That(loaded.Keys, Is.Empty);
        });
    }

    [Test]
    public async Task Destroy_ThroughExtension_OnAForeignSession_ThrowsInvalidOperation()
    {
        var foreign = new Moq.Mock<ISession>().Object;

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => foreign.DestroyAsync());
        Assert.That(ex!.Message, Does.Contain("not an etcd session"));
        await Task.CompletedTask;
    }

    [Test]
    public async Task StoredValue_IsTheVersionedEnvelope_WithReadableJsonItems()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        session.SetString("greeting", "hello");
        session.Set("raw", [0xff, 0xfe]);
        await session.CommitAsync();

        var kv = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Kvs[0];
        var text = Encoding.UTF8.GetString(kv.Value.ToByteArray());

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.StartWith("{\"v\":1,"));
            Assert.That(text, Does.Contain("\"ser\":\"JSON\""));
            Assert.That(text, Does.Contain("\"greeting\":\"hello\""));
            Assert.That(text, Does.Contain("{\"base64\":\"//4=\"}"));
            Assert.That(text, Does.Contain($"\"id\":\"{session.Id}\""));
        });
    }

    [Test]
    public async Task SecretKey_IsNeitherTheEtcdKeyNorTheId_AndCarries256Bits()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("a", "1"));

        var keys = await EtcdFixture.Client.GetRangeAsync(store.Prefix);
        var etcdKey = keys.Kvs.Single().Key.ToStringUtf8();

        Assert.Multiple(() =>
        {
            Assert.That(etcdKey, Does.Not.Contain(session.SessionKey));
            Assert.That(session.Id, Is.Not.EqualTo(session.SessionKey));
            Assert.That(Convert.FromBase64String(ToBase64(session.SessionKey)), Has.Length.EqualTo(32));
        });
    }

    [Test]
    public async Task Retrieve_CorruptStoredValue_GivesAFreshSession_AndLeavesTheDataUntouched()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("a", "1"));
        var key = store.StorageKeyOf(session.SessionKey);
        await EtcdFixture.Client.PutAsync(new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("{\"v\":1,\"id\":\"x\"\nnot json") });

        var reopened = await store.OpenAsync(session.SessionKey);
        reopened.SetString("b", "2");
        await reopened.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(reopened.SessionKey, Is.Not.EqualTo(session.SessionKey));
            Assert.That(reopened.GetString("a"), Is.Null);
            Assert.That((await EtcdFixture.Client.GetAsync(key)).Kvs[0].Value.ToStringUtf8(), Does.Contain("not json"));
        });
    }

    [Test]
    public async Task Retrieve_ValueOfAnotherFormatRevision_IsNotAdopted()
    {
        using var store = TestStore.Create();
        var secret = "k-" + Guid.NewGuid();
        await EtcdFixture.Client.PutAsync(store.StorageKeyOf(secret), "{\"v\":2,\"id\":\"x\",\"created\":0,\"idle\":60,\"abs\":null,\"ser\":\"JSON\"}\n{}");

        var session = await store.OpenAsync(secret);

        Assert.Multiple(() =>
        {
            Assert.That(session.IsStored, Is.False);
            Assert.That(session.SessionKey, Is.Not.EqualTo(secret));
        });
    }

    private static string ToBase64(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}
