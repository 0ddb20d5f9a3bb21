using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>
/// Two requests of one browser rotate the session's key at once (change-id or sign-in): one wins; the other finds the
/// old key moved and fails with <see cref="EtcdSessionErrorKind.Conflict"/> instead of acting as if the session ended,
/// so the browser keeps the winner's key.
/// </summary>
public sealed class ConcurrentRotationTests
{
    [Test]
    public async Task ChangeId_ThatLosesToAnotherRotation_FailsWithConflict_AndTheWinnersKeyOpensTheSession()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var loser = await store.OpenAsync(seed.SessionKey);
        var winner = await store.OpenAsync(seed.SessionKey);
        var newSecret = await winner.RegenerateIdAsync(CancellationToken.None);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => loser.RegenerateIdAsync());

        var rotated = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict));
            Assert.That(loser.SessionKey, Is.EqualTo(seed.SessionKey), "the losing request has no key of its own to hand out");
            Assert.That(loser.Moved, Is.True, "its response leaves the cookie alone");
            Assert.That(rotated.GetString("cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task SignIn_ThatLosesToAnotherRotation_FailsWithConflict_AndStoresNoSessionOfItsOwn()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var loser = await store.OpenAsync(seed.SessionKey);
        var winner = await store.OpenAsync(seed.SessionKey);
        var newSecret = await winner.BindUserAsync("alice", null, CancellationToken.None);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => loser.BindUserAsync("alice"));
        var commit = Assert.ThrowsAsync<EtcdSessionException>(async () =>
        {
            loser.SetString("late", "y");
            await loser.CommitAsync();
        });

        var stored = await EtcdFixture.Client.GetRangeAsync(store.Prefix + "s/");
        var rotated = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict));
            Assert.That(commit!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict), "no new session is started in the winner's place");
            Assert.That(stored.Kvs, Has.Count.EqualTo(1), "only the winner's session is stored");
            Assert.That(rotated.GetString("cart"), Is.EqualTo("apple"));
            Assert.That(rotated.UserName, Is.EqualTo("alice"));
        });
    }

    [Test]
    public async Task ChangeId_OfASessionDestroyedMeanwhile_StillStartsOver()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var late = await store.OpenAsync(seed.SessionKey);
        await (await store.OpenAsync(seed.SessionKey)).DestroyAsync();

        await late.RegenerateIdAsync();

        Assert.Multiple(() =>
        {
            Assert.That(late.IsStored, Is.False, "a destroyed session is never brought back");
            Assert.That(late.Moved, Is.False);
            Assert.That(late.GetString("cart"), Is.Null);
        });
    }

    [Test]
    public async Task Destroy_ThatLosesToARotation_FailsWithConflict_AndTheRotatedSessionIsStillThere()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var signOut = await store.OpenAsync(seed.SessionKey);
        var newSecret = await (await store.OpenAsync(seed.SessionKey)).RegenerateIdAsync(CancellationToken.None);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => signOut.DestroyAsync());

        var rotated = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict), "the destroy did not happen: it must not look as if it had");
            Assert.That(signOut.Moved, Is.True, "its response leaves the cookie alone");
            Assert.That(rotated.GetString("cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task Destroy_OfAStaleView_ThatARotationOvertakesAfterTheReadBack_FailsWithConflict()
    {
        var counter = new EtcdCallInterceptor();
        using var store = CountingTestStore.Create(counter, TimeProvider.System);
        var seed = await store.SeedAsync(("cart", "apple"));
        var signOut = await store.OpenAsync(seed.SessionKey); // its view goes stale: another tab writes next
        var other = await store.OpenAsync(seed.SessionKey);
        other.SetString("coupon", "half");
        await other.CommitAsync();
        var signIn = await store.OpenAsync(seed.SessionKey);
        string? newSecret = null;
        // The destroy's guarded delete fails on the stale revision and reads the session back; the sign-in's rotation
        // commits before the destroy acts on what it read.
        counter.HoldNextReply("Txn", async () => newSecret = await signIn.RegenerateIdAsync(CancellationToken.None));

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => signOut.DestroyAsync());

        var rotated = await store.OpenAsync(newSecret!);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict), "the session lives on under the new key: the destroy must not answer as if it had ended it");
            Assert.That(rotated.GetString("coupon"), Is.EqualTo("half"));
        });
    }

    [Test]
    public async Task Destroy_ThroughAKeyRotatedAwayBeforeTheLoad_FailsWithConflict()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("cart", "apple"));
        var newSecret = await (await store.OpenAsync(seed.SessionKey)).RegenerateIdAsync(CancellationToken.None);
        var late = await store.OpenAsync(seed.SessionKey);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => late.DestroyAsync());

        var rotated = await store.OpenAsync(newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict));
            Assert.That(rotated.GetString("cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task TwoRotationsOfOneBrowser_AtOnce_LeaveItACookieThatOpensTheSession_OnKestrel()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: true);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var before = browser.SessionCookie;
        HttpResponseMessage? winner = null;
        server.BeforeRegenerate = async () =>
        {
            server.BeforeRegenerate = null;
            winner = await browser.PostAsync("/regenerate"); // the other request rotates first and is answered first
        };

        using var loser = await browser.PostAsync("/regenerate");
        using var won = winner!;

        Assert.Multiple(async () =>
        {
            Assert.That(won.IsSuccessStatusCode, Is.True);
            Assert.That(loser.IsSuccessStatusCode, Is.False, "the losing rotation did not happen: never a 2xx");
            Assert.That(SetCookies(loser), Is.Empty, "the browser holds the winner's key: no deletion, no other key");
            Assert.That(browser.SessionCookie, Is.Not.Null.And.Not.EqualTo(before));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    private static string[] SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? [.. values.Where(v => v.StartsWith(EtcdSessionDefaults.CookieName + "=", StringComparison.Ordinal))] : [];
}
