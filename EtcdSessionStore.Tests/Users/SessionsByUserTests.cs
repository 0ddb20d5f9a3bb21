using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcd.AspNetCore.Session.Format;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Tests.Users;

public sealed class SessionsByUserTests
{
    [Test]
    public async Task BindingAUser_WritesAnIndexEntryOnTheSessionsLease_WithItsStorageKeyAndNoSecret()
    {
        using var store = TestStore.Create();
        var secret = await StoredSessionAsync(store);
        var session = await store.OpenAsync(secret);

        var newSecret = await session.BindUserAsync("alice", new Dictionary<string, string> { ["ua"] = "Firefox" }, CancellationToken.None);

        var stored = await GetAsync(store.StorageKeyOf(newSecret));
        var entry = await GetAsync(UserSessionIndex.EntryKey(store.Prefix, "alice", session.Id));
        var text = entry!.Value.ToStringUtf8();
        Assert.Multiple(() =>
        {
            Assert.That(stored, Is.Not.Null);
            Assert.That(entry.Lease, Is.EqualTo(stored!.Lease), "same lease as the session");
            Assert.That(entry.ModRevision, Is.EqualTo(stored.ModRevision), "written in the same transaction");
            Assert.That(UserSessionIndex.Decode(entry)!.StorageKey, Is.EqualTo(store.StorageKeyOf(newSecret)));
            Assert.That(text, Does.Not.Contain(newSecret).And.Not.Contain(secret));
            Assert.That(text, Does.Contain("Firefox"));
        });
    }

    [Test]
    public async Task ListAsync_ReturnsOnlyTheUsersLiveSessions_WithCreatedSeenExpiryAndMetadata()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var a1 = await SignedInSessionAsync(store, "alice", "phone");
        var a2 = await SignedInSessionAsync(store, "alice", "laptop");
        await SignedInSessionAsync(store, "bob", "desktop");

        var sessions = await directory.ListAsync("alice");

        Assert.Multiple(() =>
        {
            Assert.That(sessions.Select(s => s.SessionId), Is.EquivalentTo(new[] { a1.Id, a2.Id }));
            Assert.That(sessions.Select(s => s.Metadata["ua"]), Is.EquivalentTo(new[] { "phone", "laptop" }));
            Assert.That(sessions.All(s => s.UserName == "alice"), Is.True);
            Assert.That(sessions.All(s => s.ExpiresAt > DateTimeOffset.UtcNow && s.ExpiresAt <= DateTimeOffset.UtcNow.AddMinutes(21)), Is.True);
            Assert.That(sessions.All(s => s.Created <= s.LastSeen), Is.True);
        });
    }

    [Test]
    public async Task RotatingABoundSessionAgain_KeepsOneEntry_ThatNamesTheNewStorageKey()
    {
        using var store = TestStore.Create();
        var session = await SignedInSessionAsync(store, "alice", "phone");

        var newest = await session.RegenerateIdAsync(CancellationToken.None);

        var entries = await RangeAsync(UserSessionIndex.UserPrefix(store.Prefix, "alice"));
        Assert.That(entries, Has.Count.EqualTo(1));
        Assert.That(UserSessionIndex.Decode(entries[0])!.StorageKey, Is.EqualTo(store.StorageKeyOf(newest)));
    }

    [Test]
    public async Task BindingAnotherUser_MovesTheEntryFromTheOldUserToTheNewOne()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var session = await SignedInSessionAsync(store, "alice", "phone");

        await session.BindUserAsync("bob");

        Assert.That(await directory.ListAsync("alice"), Is.Empty);
        Assert.That((await directory.ListAsync("bob")).Single().SessionId, Is.EqualTo(session.Id));
    }

    [Test]
    public async Task BindingANewSessionBeforeItsFirstCommit_WritesTheEntryWithTheSession()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var session = store.NewSession();

        var secret = await session.BindUserAsync("alice", null, CancellationToken.None);
        Assert.That(await directory.ListAsync("alice"), Is.Empty, "nothing is written before the commit");
        await session.CommitAsync();

        var listed = await directory.ListAsync("alice");
        Assert.That(listed.Single().SessionId, Is.EqualTo(session.Id));
        Assert.That((await store.OpenAsync(secret)).UserName, Is.EqualTo("alice"));
    }

    [Test]
    public async Task Destroy_DeletesTheSessionAndItsEntryInOneRevision()
    {
        using var store = TestStore.Create();
        var session = await SignedInSessionAsync(store, "alice", "phone");
        var secret = session.SessionKey;
        var reopened = await store.OpenAsync(secret);

        await reopened.DestroyAsync();

        Assert.That(await GetAsync(store.StorageKeyOf(secret)), Is.Null);
        Assert.That(await RangeAsync(UserSessionIndex.UserPrefix(store.Prefix, "alice")), Is.Empty);
    }

    [Test]
    public async Task Commit_AfterTheRefreshInterval_MovesTheEntryToTheSessionsNewLease()
    {
        using var store = TestStore.Create(o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(30);
            o.RefreshInterval = TimeSpan.FromSeconds(1);
        });
        var session = await SignedInSessionAsync(store, "alice", "phone");
        var before = await GetAsync(UserSessionIndex.EntryKey(store.Prefix, "alice", session.Id));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the interval even after the lease second rounds up

        var reader = await store.OpenAsync(session.SessionKey);
        await reader.CommitAsync(); // read-only: a touch

        var stored = await GetAsync(store.StorageKeyOf(session.SessionKey));
        var after = await GetAsync(UserSessionIndex.EntryKey(store.Prefix, "alice", session.Id));
        Assert.Multiple(() =>
        {
            Assert.That(stored!.Lease, Is.Not.EqualTo(before!.Lease), "the touch moved the session to a later lease");
            Assert.That(after!.Lease, Is.EqualTo(stored.Lease), "the entry moved with it");
            Assert.That(UserSessionIndex.Decode(after)!.Session.LastSeen, Is.GreaterThan(UserSessionIndex.Decode(before)!.Session.LastSeen));
        });
    }

    [Test]
    public async Task Expiry_RemovesTheEntryTogetherWithTheSession()
    {
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromSeconds(2));
        var session = await SignedInSessionAsync(store, "alice", "phone");
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();

        await Eventually.TrueAsync(async () => await GetAsync(store.StorageKeyOf(session.SessionKey)) is null, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(250));

        Assert.That(await GetAsync(store.StorageKeyOf(session.SessionKey)), Is.Null, "etcd expired the session");
        Assert.That(await RangeAsync(UserSessionIndex.UserPrefix(store.Prefix, "alice")), Is.Empty);
        Assert.That(await directory.ListAsync("alice"), Is.Empty);
    }

    [Test]
    public async Task RevokeAllAsync_DestroysEveryOtherSessionOfTheUser_AndTheirKeysOpenFreshSessions()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var keep = await SignedInSessionAsync(store, "alice", "this browser");
        var others = new List<EtcdSessionHandle>();
        for (var i = 0; i < 3; i++)
        {
            var s = await SignedInSessionAsync(store, "alice", $"browser {i}");
            others.Add(new EtcdSessionHandle(s.SessionKey, s.Id));
        }

        var bob = await SignedInSessionAsync(store, "bob", "elsewhere");

        var revoked = await directory.RevokeAllAsync("alice", exceptSessionId: keep.Id);

        Assert.That(revoked, Is.EqualTo(3));
        foreach (var other in others)
        {
            var reopened = await store.OpenAsync(other.Secret);
            Assert.That(reopened.GetString("user"), Is.Null, "a fresh anonymous session");
            Assert.That(reopened.Id, Is.Not.EqualTo(other.Id));
        }

        Assert.That((await store.OpenAsync(keep.SessionKey)).GetString("user"), Is.EqualTo("alice"));
        Assert.That((await store.OpenAsync(bob.SessionKey)).GetString("user"), Is.EqualTo("bob"));
        Assert.That((await directory.ListAsync("alice")).Single().SessionId, Is.EqualTo(keep.Id));
    }

    [Test]
    public async Task ARequestStillRunningWhenItsSessionIsRevoked_CannotBringItOrItsEntryBack()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var session = await SignedInSessionAsync(store, "alice", "phone");
        var running = await store.OpenAsync(session.SessionKey);

        await directory.RevokeAllAsync("alice");
        running.SetString("cart", "pears");
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => running.CommitAsync());

        Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict), "the change was not stored, and the request is told so");
        Assert.That(await GetAsync(store.StorageKeyOf(session.SessionKey)), Is.Null);
        Assert.That(await RangeAsync(UserSessionIndex.UserPrefix(store.Prefix, "alice")), Is.Empty);
    }

    [Test]
    public async Task RevokeAsync_FollowsASessionThatRotatedAfterItWasListed()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var session = await SignedInSessionAsync(store, "alice", "phone");
        var listed = (await directory.ListAsync("alice")).Single();

        var rotated = await session.RegenerateIdAsync(CancellationToken.None);
        var revoked = await directory.RevokeAsync("alice", listed.SessionId);

        Assert.That(revoked, Is.True);
        Assert.That(await GetAsync(store.StorageKeyOf(rotated)), Is.Null);
        Assert.That(await directory.RevokeAsync("alice", listed.SessionId), Is.False, "idempotent");
    }

    [Test]
    public void BindUserAsync_WithAnOverlongUserName_ThrowsAndNamesTheLimit()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();

        var ex = Assert.ThrowsAsync<ArgumentException>(() => session.BindUserAsync(new string('x', 300)));

        Assert.That(ex!.Message, Does.Contain("256"));
    }

    [Test]
    public async Task TheLongestUserNameAndLargestMetadata_StillMakeAReadableSession_EvenWhenEveryCharacterIsEscaped()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        var user = new string('<', UserSessionIndex.MaxUserNameLength);
        var metadata = new Dictionary<string, string> { ["ua"] = new string('"', 160) }; // 4 + 160 * 6 bytes as stored

        await session.BindUserAsync(user, metadata);
        await session.CommitAsync();

        var reopened = await store.OpenAsync(session.SessionKey);
        Assert.That(reopened.UserName, Is.EqualTo(user));
        Assert.That((await store.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync(user)).Single().Metadata["ua"], Is.EqualTo(metadata["ua"]));
    }

    [Test]
    public void MetadataOverTheLimitAsStored_IsRefusedBeforeAnythingIsWritten()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        var metadata = new Dictionary<string, string> { ["ua"] = new string('<', 200) }; // 200 characters, 1200 bytes escaped

        var ex = Assert.ThrowsAsync<ArgumentException>(() => session.BindUserAsync("alice", metadata));

        Assert.That(ex!.Message, Does.Contain("as stored").And.Contain("1024"));
    }

    private sealed record EtcdSessionHandle(string Secret, string Id);

    internal static async Task<string> StoredSessionAsync(TestStore store)
    {
        var session = store.NewSession();
        session.SetString("cart", "apples");
        await session.CommitAsync();
        return session.SessionKey;
    }

    internal static async Task<Etcd.AspNetCore.Session.Sessions.EtcdSession> SignedInSessionAsync(TestStore store, string user, string userAgent)
    {
        var session = await store.OpenAsync(await StoredSessionAsync(store));
        session.SetString("user", user);
        await session.BindUserAsync(user, new Dictionary<string, string> { ["ua"] = userAgent });
        await session.CommitAsync();
        return session;
    }

    [Test]
    public async Task AnIndexEntryWithATimeOutOfRange_IsSkippedByTheListing_NotAnException()
    {
        using var store = TestStore.Create();
        var secret = await StoredSessionAsync(store);
        var session = await store.OpenAsync(secret);
        await session.BindUserAsync("alice");
        var broken = "{\"v\":1,\"id\":\"x\",\"user\":\"alice\",\"key\":\"k\",\"created\":9223372036854775807,\"seen\":9223372036854775807}";
        await EtcdFixture.Client.PutAsync(UserSessionIndex.EntryKey(store.Prefix, "alice", "x"), broken);

        var sessions = await store.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice");

        Assert.That(sessions.Select(s => s.SessionId), Is.EqualTo(new[] { session.Id }));
    }

    private static async Task<KeyValue?> GetAsync(string key)
    {
        var response = await EtcdFixture.Client.GetAsync(key);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    private static async Task<IList<KeyValue>> RangeAsync(string prefix)
    {
        var response = await EtcdFixture.Client.GetRangeAsync(prefix);
        return response.Kvs;
    }
}
