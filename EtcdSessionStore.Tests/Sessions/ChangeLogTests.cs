using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>
/// A request's view and change log across more than one write: after a commit its view is what was stored (another
/// request's change merged in included), so a later commit, rotation or sign-in never writes back an older view; and
/// a remove is a write even when the request's view does not hold the key.
/// </summary>
public sealed class ChangeLogTests
{
    [Test]
    public async Task SecondCommit_AfterAMergedFirstOne_KeepsTheOtherRequestsAcknowledgedWrite()
    {
        using var store = TestStore.Create();
        var (secret, r2) = await MergedFirstCommitAsync(store);

        var viewAfterMerge = r2.GetString("x");
        r2.SetString("z", "3");
        await r2.CommitAsync();

        var result = await store.OpenAsync(secret);
        Assert.Multiple(() =>
        {
            Assert.That(viewAfterMerge, Is.EqualTo("1"), "after a commit the request's view is what was stored");
            Assert.That(Items(result), Is.EqualTo("cart=apple,x=1,y=2,z=3"));
        });
    }

    [Test]
    public async Task SignIn_AfterAMergedCommit_BindsTheStoredItems_NotTheRequestsOlderView()
    {
        using var store = TestStore.Create();
        var (_, r2) = await MergedFirstCommitAsync(store);

        var newSecret = await r2.BindUserAsync("alice", null, CancellationToken.None);

        var result = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(Items(result), Is.EqualTo("cart=apple,x=1,y=2"));
            Assert.That(result.UserName, Is.EqualTo("alice"));
        });
    }

    [Test]
    public async Task ChangeAfterARotation_ThatFollowedAMergedCommit_KeepsTheOtherRequestsWrite()
    {
        using var store = TestStore.Create();
        var (_, r2) = await MergedFirstCommitAsync(store);

        var newSecret = await r2.RegenerateIdAsync(CancellationToken.None);
        r2.SetString("z", "3");
        await r2.CommitAsync();

        Assert.That(Items(await store.OpenAsync(newSecret)), Is.EqualTo("cart=apple,x=1,y=2,z=3"));
    }

    [Test]
    public async Task SecondCommit_AfterTheBodyStarted_FollowingAMergedFirstCommit_KeepsTheOtherRequestsWrite_OnKestrel()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: true);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var other = server.NewBrowser(); // another tab of the same browser: same cookie, its own request
        other.SetSessionCookie(browser.SessionCookie!);
        server.DuringSet = async () =>
        {
            server.DuringSet = null;
            using var r1 = await other.PostAsync("/set?key=x&value=1"); // R1 commits while R2 runs
            r1.EnsureSuccessStatusCode();
        };

        using var r2 = await browser.PostAsync("/set-flush-set?key=y&value=2&then=z&thenValue=3");
        var body = await r2.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(body, Is.EqualTo("streamed"));
            Assert.That(await browser.GetStringAsync("/get?key=x"), Is.EqualTo("1"), "R1 was acknowledged, so it must stay stored");
            Assert.That(await browser.GetStringAsync("/get?key=y"), Is.EqualTo("2"));
            Assert.That(await browser.GetStringAsync("/get?key=z"), Is.EqualTo("3"));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task SignIn_AfterAnExplicitMergedCommit_KeepsTheOtherRequestsWrite_OnKestrel()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: true);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var other = server.NewBrowser();
        other.SetSessionCookie(browser.SessionCookie!);
        server.DuringSet = async () =>
        {
            server.DuringSet = null;
            using var r1 = await other.PostAsync("/set?key=x&value=1");
            r1.EnsureSuccessStatusCode();
        };

        using var r2 = await browser.PostAsync("/set-commit-signin?key=y&value=2&user=alice");

        Assert.Multiple(async () =>
        {
            Assert.That(r2.IsSuccessStatusCode, Is.True);
            Assert.That(await browser.GetStringAsync("/get?key=x"), Is.EqualTo("1"), "R1 was acknowledged, so the rotated session holds it");
            Assert.That(await browser.GetStringAsync("/get?key=y"), Is.EqualTo("2"));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task Remove_OfAKeyTheRequestsViewDoesNotHold_IsRecorded_AndRemovesWhatAnotherRequestStoredMeanwhile()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var remover = await store.OpenAsync(seed.SessionKey); // its view predates the other tab's write
        var other = await store.OpenAsync(seed.SessionKey);
        other.SetString("coupon", "half");
        await other.CommitAsync();

        remover.Remove("coupon");
        var recorded = remover.HasChanges;
        await remover.CommitAsync();

        var result = await store.OpenAsync(seed.SessionKey);
        Assert.Multiple(() =>
        {
            Assert.That(recorded, Is.True, "a remove is a write, whether or not the view holds the key");
            Assert.That(Items(result), Is.EqualTo("cart=apple"), "the removal applies over the stored version");
        });
    }

    [Test]
    public async Task Remove_OfAKeyNeverSet_InANewSession_StoresNothing()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();

        session.Remove("nothing");
        await session.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(session.IsStored, Is.False);
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Count, Is.Zero);
        });
    }

    /// <summary>
    /// Session {cart}; R2 loads it; R1 sets x and commits (acknowledged); R2 sets y and commits, which merges R1's
    /// change: {cart, x, y} is stored. Returns the secret and R2, which goes on.
    /// </summary>
    private static async Task<(string Secret, EtcdSession R2)> MergedFirstCommitAsync(TestStore store)
    {
        var seed = await store.SeedAsync(("cart", "apple"));
        var r2 = await store.OpenAsync(seed.SessionKey);
        var r1 = await store.OpenAsync(seed.SessionKey);
        r1.SetString("x", "1");
        await r1.CommitAsync();
        r2.SetString("y", "2");
        await r2.CommitAsync();
        Assert.That(Items(await store.OpenAsync(seed.SessionKey)), Is.EqualTo("cart=apple,x=1,y=2"), "the first commit merged");
        return (seed.SessionKey, r2);
    }

    private static string Items(EtcdSession session) =>
        string.Join(",", session.Keys.Order(StringComparer.Ordinal).Select(k => $"{k}={session.GetString(k)}"));
}
