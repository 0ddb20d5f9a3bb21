using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

public sealed class ChangeIdTests
{
    [Test]
    public async Task ChangeId_MovesTheSessionInOneRevision_WithTheSameValueAndLease()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("cart", "apples"));
        var oldSecret = session.SessionKey;
        var before = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(oldSecret))).Kvs[0];

        var loaded = await store.OpenAsync(oldSecret);
        var newSecret = await loaded.RegenerateIdAsync(CancellationToken.None);

        var oldNow = await EtcdFixture.Client.GetAsync(store.StorageKeyOf(oldSecret));
        var after = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(newSecret))).Kvs[0];
        var rotation = after.CreateRevision;
        var oldJustBefore = await GetAtRevision(store.StorageKeyOf(oldSecret), rotation - 1);
        var oldAtRotation = await GetAtRevision(store.StorageKeyOf(oldSecret), rotation);
        var newJustBefore = await GetAtRevision(store.StorageKeyOf(newSecret), rotation - 1);
        Assert.Multiple(() =>
        {
            Assert.That(newSecret, Is.Not.EqualTo(oldSecret));
            Assert.That(loaded.SessionKey, Is.EqualTo(newSecret));
            Assert.That(oldNow.Count, Is.Zero, "old key must be gone");
            Assert.That(after.Value, Is.EqualTo(before.Value), "same value");
            Assert.That(after.Lease, Is.EqualTo(before.Lease), "same lease");
            Assert.That(oldJustBefore.Count, Is.EqualTo(1), "old key live until the rotation revision");
            Assert.That(newJustBefore.Count, Is.Zero, "new key absent until the rotation revision");
            Assert.That(oldAtRotation.Count, Is.Zero, "old key gone in the very revision the new one appeared");
        });
    }

    [Test]
    public async Task ChangeId_OldKeyNoLongerOpensTheSession_NewKeyKeepsDataAndId()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("user", "alice"));
        var oldSecret = session.SessionKey;
        var id = session.Id;

        var loaded = await store.OpenAsync(oldSecret);
        var newSecret = await loaded.RegenerateIdAsync(CancellationToken.None);

        var viaOld = await store.OpenAsync(oldSecret);
        var viaNew = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(viaOld.GetString("user"), Is.Null);
            Assert.That(viaOld.SessionKey, Is.Not.EqualTo(oldSecret));
            Assert.That(viaNew.GetString("user"), Is.EqualTo("alice"));
            Assert.That(viaNew.Id, Is.EqualTo(id));
            Assert.That(viaNew.Created, Is.EqualTo(viaOld.Created ?? viaNew.Created));
        });
    }

    [Test]
    public async Task ChangeId_WhenTheSessionWasModifiedConcurrently_KeepsBothWritesAndLeavesOneCopy()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("a", "1"));
        var oldSecret = session.SessionKey;

        var rotating = await store.OpenAsync(oldSecret);
        var other = await store.OpenAsync(oldSecret);
        other.SetString("b", "2");
        await other.CommitAsync();

        rotating.SetString("c", "3");
        var newSecret = await rotating.RegenerateIdAsync(CancellationToken.None);
        await rotating.CommitAsync();

        var all = await EtcdFixture.Client.GetRangeAsync(store.Prefix + "s/");
        var result = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(all.Count, Is.EqualTo(1), "never two live copies");
            Assert.That(result.GetString("a"), Is.EqualTo("1"));
            Assert.That(result.GetString("b"), Is.EqualTo("2"));
            Assert.That(result.GetString("c"), Is.EqualTo("3"));
        });
    }

    [Test]
    public async Task ChangeId_OfASessionNotYetStored_OnlyChangesTheKey()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        var first = session.SessionKey;
        session.SetString("a", "1");

        var second = await session.RegenerateIdAsync(CancellationToken.None);
        await session.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(second, Is.Not.EqualTo(first));
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(first))).Count, Is.Zero);
            Assert.That((await store.OpenAsync(second)).GetString("a"), Is.EqualTo("1"));
        });
    }

    [Test]
    public async Task ChangeId_ThroughTheISessionExtension_Works()
    {
        using var store = TestStore.Create();
        var ours = store.NewSession();
        ISession session = ours;
        session.SetString("a", "1");
        await session.CommitAsync();
        var oldKey = ours.SessionKey;
        var id = session.Id;

        await session.RegenerateIdAsync();

        Assert.That(ours.SessionKey, Is.Not.EqualTo(oldKey));
        Assert.That(session.Id, Is.EqualTo(id), "ISession.Id is the non-secret id; only the secret key changes");
        Assert.That((await store.OpenAsync(ours.SessionKey)).GetString("a"), Is.EqualTo("1"));
    }

    private static Task<Etcdserverpb.RangeResponse> GetAtRevision(string key, long revision) =>
        EtcdFixture.Client.GetAsync(new Etcdserverpb.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key), Revision = revision });
}
