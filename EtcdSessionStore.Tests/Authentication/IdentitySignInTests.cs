using System.Net;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

/// <summary>
/// ASP.NET Core Identity's <c>SignInManager</c> as the sign-in client, on two instances over Kestrel that share one etcd:
/// the session moves to a new key at sign-in and keeps its contents, ends at sign-out, and follows the user who signed
/// in last.
/// </summary>
public sealed class IdentitySignInTests
{
    private static readonly string SessionCookie = EtcdSessionDefaults.CookieName;

    [TestCase(false)]
    [TestCase(true)]
    public async Task PasswordSignIn_MovesTheSessionToANewKey_AndKeepsTheCart_OnTheOtherInstance(bool storeTickets)
    {
        await using var app = await IdentityApp.StartAsync(2, storeTickets, configure: null, "alice");
        var (a, b) = (app.Urls[0], app.Urls[1]);
        using var browser = new HostBrowser();
        await browser.SendAsync(HttpMethod.Post, a + "/cart?item=book");
        var before = browser.Cookie(SessionCookie);

        var login = await browser.SendAsync(HttpMethod.Post, a + "/login?user=alice");
        var after = browser.Cookie(SessionCookie);

        var cartOnB = await browser.SendAsync(HttpMethod.Get, b + "/cart");
        var userOnB = await browser.SendAsync(HttpMethod.Get, b + "/whoami");
        var oldCookieOnA = await browser.SendAsync(HttpMethod.Get, a + "/cart", $"{SessionCookie}={before}");
        var oldCookieOnB = await browser.SendAsync(HttpMethod.Get, b + "/cart", $"{SessionCookie}={before}");
        Assert.Multiple(() =>
        {
            Assert.That(before, Is.Not.Null);
            Assert.That(login, Is.EqualTo((HttpStatusCode.OK, "ok")));
            Assert.That(after, Is.Not.Null.And.Not.EqualTo(before), "the sign-in answers with the session's new key");
            Assert.That(cartOnB.Body, Is.EqualTo("book"), "the cart set before the sign-in, read on the other instance");
            Assert.That(userOnB.Body, Is.EqualTo("alice"));
            Assert.That(oldCookieOnA.Body, Is.Empty, "the session cookie from before the sign-in opens nothing");
            Assert.That(oldCookieOnB.Body, Is.Empty, "the session cookie from before the sign-in opens nothing");
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task SignOut_EndsTheSession_OnBothInstances(bool storeTickets)
    {
        await using var app = await IdentityApp.StartAsync(2, storeTickets, configure: null, "alice");
        var (a, b) = (app.Urls[0], app.Urls[1]);
        using var browser = new HostBrowser();
        await browser.SendAsync(HttpMethod.Post, a + "/login?user=alice");
        await browser.SendAsync(HttpMethod.Post, b + "/cart?item=book");
        var signedIn = browser.Cookie(SessionCookie);
        var cartBefore = await browser.SendAsync(HttpMethod.Get, a + "/cart", $"{SessionCookie}={signedIn}");

        var logout = await browser.SendAsync(HttpMethod.Post, b + "/logout");

        var oldCookieOnA = await browser.SendAsync(HttpMethod.Get, a + "/cart", $"{SessionCookie}={signedIn}");
        var oldCookieOnB = await browser.SendAsync(HttpMethod.Get, b + "/cart", $"{SessionCookie}={signedIn}");
        var userOnA = await browser.SendAsync(HttpMethod.Get, a + "/whoami");
        Assert.Multiple(() =>
        {
            Assert.That(cartBefore.Body, Is.EqualTo("book"));
            Assert.That(logout, Is.EqualTo((HttpStatusCode.OK, "ok")));
            Assert.That(oldCookieOnA.Body, Is.Empty, "the signed-out session's cookie opens nothing on the first instance");
            Assert.That(oldCookieOnB.Body, Is.Empty, "the signed-out session's cookie opens nothing on the second instance");
            Assert.That(userOnA.Body, Is.EqualTo("anonymous"));
        });
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public async Task SigningInAsBob_OverAlicesSignIn_MakesEveryLaterRequestBob_OnBothInstances(bool storeTickets, bool endSignInWithSession)
    {
        await using var app = await IdentityApp.StartAsync(2, storeTickets, o => o.EndSignInWithSession = endSignInWithSession, "alice", "bob");
        var (a, b) = (app.Urls[0], app.Urls[1]);
        using var browser = new HostBrowser();
        await browser.SendAsync(HttpMethod.Post, a + "/login?user=alice");
        var alice = await browser.SendAsync(HttpMethod.Get, b + "/whoami");

        var login = await browser.SendAsync(HttpMethod.Post, b + "/login?user=bob");

        var later = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            later.Add((await browser.SendAsync(HttpMethod.Get, a + "/whoami")).Body);
            later.Add((await browser.SendAsync(HttpMethod.Get, b + "/whoami")).Body);
        }

        Assert.Multiple(() =>
        {
            Assert.That(alice.Body, Is.EqualTo("alice"));
            Assert.That(login, Is.EqualTo((HttpStatusCode.OK, "ok")));
            Assert.That(later, Is.All.EqualTo("bob"));
        });
    }

    [Test]
    public async Task SigningInAsBob_WhileAlicesSignInIsRevoked_SignsBobIn_OnBothInstances()
    {
        await using var app = await IdentityApp.StartAsync(2, storeTickets: true, configure: null, "alice", "bob");
        var (a, b) = (app.Urls[0], app.Urls[1]);
        using var browser = new HostBrowser();
        await browser.SendAsync(HttpMethod.Post, a + "/login?user=alice");

        // The revoke lands after the request read alice's ticket and before bob's sign-in stores his.
        var login = await browser.SendAsync(HttpMethod.Post, b + "/login?user=bob&revokeFirst=alice");

        var onA = await browser.SendAsync(HttpMethod.Get, a + "/whoami");
        var onB = await browser.SendAsync(HttpMethod.Get, b + "/whoami");
        Assert.Multiple(() =>
        {
            Assert.That(login, Is.EqualTo((HttpStatusCode.OK, "ok")));
            Assert.That(onA.Body, Is.EqualTo("bob"), "a sign-in that answers 200 has stored its ticket");
            Assert.That(onB.Body, Is.EqualTo("bob"));
        });
    }

    [Test]
    public async Task SigningInAsBob_OverAlicesSignIn_WithTicketsInEtcd_MovesTheTicketToBobsIndex()
    {
        await using var app = await IdentityApp.StartAsync(2, storeTickets: true, configure: null, "alice", "bob");
        var (a, b) = (app.Urls[0], app.Urls[1]);
        using var browser = new HostBrowser();
        await browser.SendAsync(HttpMethod.Post, a + "/login?user=alice");
        var aliceEntries = await CountAsync(UserTicketIndex.UserPrefix(app.Prefix, "alice"));

        await browser.SendAsync(HttpMethod.Post, b + "/login?user=bob");

        Assert.Multiple(async () =>
        {
            Assert.That(aliceEntries, Is.EqualTo(1));
            Assert.That(await CountAsync(app.Prefix + "t/"), Is.EqualTo(1), "one ticket: the cookie's reference now names bob's");
            Assert.That(await CountAsync(UserTicketIndex.UserPrefix(app.Prefix, "alice")), Is.Zero, "alice's index entry is removed");
            Assert.That(await CountAsync(UserTicketIndex.UserPrefix(app.Prefix, "bob")), Is.EqualTo(1), "bob's index entry is added");
        });
    }

    private static async Task<long> CountAsync(string prefix)
    {
        var range = KeyRange.Prefix(prefix);
        range.CountOnly = true;
        return (await EtcdFixture.Client.GetAsync(range)).Count;
    }
}
