using System.Security.Claims;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

/// <summary><c>.StoreTicketsInEtcd()</c>: cookie authentication's tickets in etcd, through the real pipeline.</summary>
public sealed class TicketStoreTests
{
    private static readonly string AuthCookie = CookieAuthenticationDefaults.CookiePrefix + CookieAuthenticationDefaults.AuthenticationScheme;

    [Test]
    public async Task SigningIn_KeepsTheTicketInEtcd_AndTheCookieCarriesOnlyAReference([Values] bool kestrel)
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(kestrel: kestrel);
        var browser = server.NewBrowser();

        await SignInAsync(browser, "alice");

        var cookie = CookieOf(browser)!;
        var carried = server.UnprotectCookie(cookie)!;
        var tickets = await server.TicketsAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(server.Url, kestrel ? Does.StartWith("http://127.0.0.1:") : Is.Null, "the host this case runs on");
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("alice"));
            Assert.That(cookie, Has.Length.LessThan(600), "a reference, not a 3 KB claim");
            Assert.That(carried.Principal.Claims.Select(c => c.Type), Is.EqualTo(new[] { "Microsoft.AspNetCore.Authentication.Cookies-SessionId" }));
            Assert.That(carried.Principal.Identity?.Name, Is.Null);
            Assert.That(tickets, Has.Count.EqualTo(1));
            var stored = tickets[0].Value.ToStringUtf8();
            Assert.That(stored, Does.Not.Contain("alice@example.com").And.Not.Contain(SessionTestServer.LargeClaim[..100]), "claims are protected in etcd");
            Assert.That(tickets[0].Key.ToStringUtf8(), Does.Not.Contain(carried.Principal.Claims.Single().Value), "the etcd key is a hash of the reference");
        });
    }

    [Test]
    public async Task TheTicket_IsOnALeaseThatMatchesItsExpiry_WithItsIndexEntryOnTheSameLease()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(expireTimeSpan: TimeSpan.FromHours(1));
        await SignInAsync(server.NewBrowser(), "alice");

        var ticket = (await server.TicketsAsync()).Single();
        var entry = (await server.TicketEntriesAsync()).Single();
        var ttl = await EtcdFixture.Client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = ticket.Lease });
        Assert.Multiple(() =>
        {
            Assert.That(ttl.TTL, Is.InRange(3600 - 10, 3600 + 2 + ExpiryLease.BucketWidth(3600)), "an hour away, a lease may end one bucket (32 s) late");
            Assert.That(entry.Lease, Is.EqualTo(ticket.Lease));
            Assert.That(entry.ModRevision, Is.EqualTo(ticket.ModRevision), "written in the same transaction");
            Assert.That(UserTicketIndex.Decode(entry)!.StorageKey, Is.EqualTo(ticket.Key.ToStringUtf8()));
        });
    }

    [Test]
    public async Task ASlidingRenewal_IsOneEtcdTransaction_ThatMovesTicketAndEntryToTheNewLease()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await SessionTestServer.StartTicketAppAsync(expireTimeSpan: TimeSpan.FromHours(1), withSessions: false, storeTime: time, authenticationTime: time);
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");
        var before = (await server.TicketsAsync()).Single();

        time.Advance(TimeSpan.FromMinutes(35)); // past half of the lifetime: the cookie handler renews
        server.Calls.Reset();
        Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("alice"));

        var calls = server.Calls.ByMethod;
        var after = (await server.TicketsAsync()).Single();
        var entry = (await server.TicketEntriesAsync()).Single();
        var ttl = await EtcdFixture.Client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = after.Lease });
        Assert.Multiple(() =>
        {
            Assert.That(calls.GetValueOrDefault("Txn"), Is.EqualTo(1), "the renewal");
            Assert.That(calls.GetValueOrDefault("Range"), Is.EqualTo(1), "the ticket read every signed-in request makes");
            Assert.That(calls.Keys.Except(["Txn", "Range", "LeaseGrant"]), Is.Empty, "a LeaseGrant only for the first write to a new expiry second");
            Assert.That(after.Key, Is.EqualTo(before.Key), "the same reference: the cookie does not need to change");
            Assert.That(after.Lease, Is.Not.EqualTo(before.Lease));
            Assert.That(entry.Lease, Is.EqualTo(after.Lease));
            Assert.That(ttl.TTL, Is.InRange(3600 - 10, 3600 + 2 + ExpiryLease.BucketWidth(3600)), "the new lease runs a full lifetime from the renewal");
        });
    }

    [Test]
    public async Task RevokeAllAsync_EndsEveryTicketOfTheUser_SoTheNextRequestIsAnonymous_AndLeavesOtherUsers()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var alice1 = server.NewBrowser();
        var alice2 = server.NewBrowser();
        var bob = server.NewBrowser();
        await SignInAsync(alice1, "alice");
        await SignInAsync(alice2, "alice");
        await SignInAsync(bob, "bob");

        await server.Directory.RevokeAllAsync("alice");

        Assert.Multiple(async () =>
        {
            Assert.That(await alice1.GetStringAsync("/me"), Is.EqualTo("anonymous"));
            Assert.That(await alice2.GetStringAsync("/me"), Is.EqualTo("anonymous"));
            Assert.That(await bob.GetStringAsync("/me"), Is.EqualTo("bob"));
            Assert.That(await server.TicketsAsync(), Has.Count.EqualTo(1));
            Assert.That(await server.TicketEntriesAsync(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task ARenewalAfterARevoke_DoesNotBringTheTicketBack()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");
        var store = server.TicketStore;
        var reference = server.UnprotectCookie(CookieOf(browser)!)!.Principal.Claims.Single().Value;
        var ticket = (await store.RetrieveAsync(reference))!;

        await server.Directory.RevokeAllAsync("alice");
        ticket.Properties.ExpiresUtc = DateTimeOffset.UtcNow.AddHours(2);
        await store.RenewAsync(reference, ticket); // a request that read the ticket just before the revoke

        Assert.Multiple(async () =>
        {
            Assert.That(await server.TicketsAsync(), Is.Empty);
            Assert.That(await server.TicketEntriesAsync(), Is.Empty);
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task ARenewalWhoseTicketNamesAnotherUser_StoresThatTicket_AndMovesTheIndexEntry()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");
        var reference = server.UnprotectCookie(CookieOf(browser)!)!.Principal.Claims.Single().Value;
        var bob = new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "bob")], CookieAuthenticationDefaults.AuthenticationScheme)),
            CookieAuthenticationDefaults.AuthenticationScheme);
        bob.Properties.ExpiresUtc = DateTimeOffset.UtcNow.AddHours(1);

        await server.TicketStore.RenewAsync(reference, bob); // a sign-in over alice's that did not go through IAuthenticationService

        var entries = await server.TicketEntriesAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("bob"));
            Assert.That(await server.TicketsAsync(), Has.Count.EqualTo(1));
            Assert.That(entries.Select(e => e.Key.ToStringUtf8()), Has.Exactly(1).StartsWith(UserTicketIndex.UserPrefix(server.Prefix, "bob")));
            Assert.That(entries, Has.Count.EqualTo(1), "alice's entry is removed");
        });
    }

    [Test]
    public async Task RevokeAllAsync_ExceptThisSession_KeepsThisBrowserSignedIn()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var here = server.NewBrowser();
        var elsewhere = server.NewBrowser();
        await SignInAsync(here, "alice");
        await SignInAsync(elsewhere, "alice");

        await server.Directory.RevokeAllAsync("alice", exceptSessionId: await SessionIdAsync(here));

        Assert.Multiple(async () =>
        {
            Assert.That(await here.GetStringAsync("/me"), Is.EqualTo("alice"));
            Assert.That(await elsewhere.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task RevokeAsync_OfOneSession_SignsOutTheBrowserThatSignedInWithIt()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var first = server.NewBrowser();
        var second = server.NewBrowser();
        await SignInAsync(first, "alice");
        await SignInAsync(second, "alice");

        Assert.That(await server.Directory.RevokeAsync("alice", await SessionIdAsync(first)), Is.True);

        Assert.Multiple(async () =>
        {
            Assert.That(await first.GetStringAsync("/me"), Is.EqualTo("anonymous"));
            Assert.That(await second.GetStringAsync("/me"), Is.EqualTo("alice"));
        });
    }

    [Test]
    public async Task MaxSessionsPerUser_SignsOutTheBrowsersWhoseSessionsItEnds()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(configure: o => o.MaxSessionsPerUser = 1);
        var first = server.NewBrowser();
        var second = server.NewBrowser();
        await SignInAsync(first, "alice");
        await SignInAsync(second, "alice");

        Assert.Multiple(async () =>
        {
            Assert.That(await first.GetStringAsync("/me"), Is.EqualTo("anonymous"));
            Assert.That(await second.GetStringAsync("/me"), Is.EqualTo("alice"));
            Assert.That(await server.TicketsAsync(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task SigningOut_RemovesTheTicketAndItsEntry_SoAReplayedCookieIsAnonymous()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");
        var cookie = CookieOf(browser)!;

        (await browser.PostAsync("/signout")).EnsureSuccessStatusCode();

        var replay = server.NewBrowser();
        replay.Cookies.Add(new Uri("http://localhost/"), new System.Net.Cookie(AuthCookie, cookie));
        Assert.Multiple(async () =>
        {
            Assert.That(await server.TicketsAsync(), Is.Empty);
            Assert.That(await server.TicketEntriesAsync(), Is.Empty);
            Assert.That(await replay.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task AnExpiredTicket_IsDeletedByEtcd_AndTheRequestIsAnonymous()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(expireTimeSpan: TimeSpan.FromSeconds(3), withSessions: false);
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");

        await Eventually.TrueAsync(async () => (await server.TicketsAsync()).Count == 0, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(250));

        Assert.Multiple(async () =>
        {
            Assert.That(await server.TicketsAsync(), Is.Empty, "the lease expired");
            Assert.That(await server.TicketEntriesAsync(), Is.Empty, "the entry went with it");
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task ATicketPastItsDeadline_IsRefused_EvenWhileEtcdStillHoldsIt()
    {
        // The store's clock runs ahead, the cookie handler's does not: only the store's own deadline check can refuse it.
        var storeTime = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await SessionTestServer.StartTicketAppAsync(expireTimeSpan: TimeSpan.FromHours(1), withSessions: false, storeTime: storeTime);
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");

        storeTime.Advance(TimeSpan.FromHours(2));

        Assert.Multiple(async () =>
        {
            Assert.That(await server.TicketsAsync(), Has.Count.EqualTo(1));
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task WhileEtcdIsDown_SignedInRequestsAreAnonymous_AndSignedInAgainWhenItIsBack()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(withSessions: false);
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");

        server.Calls.Failing = true;
        var during = await browser.GetStringAsync("/me");
        server.Calls.Failing = false;

        Assert.Multiple(async () =>
        {
            Assert.That(during, Is.EqualTo("anonymous"), "fails closed: never a principal it could not check");
            Assert.That(server.Logs.Entries.Any(e => e.EventId.Name == "TicketLoadFailed" && e.Level == LogLevel.Warning), Is.True);
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("alice"), "the cookie was kept");
        });
    }

    [Test]
    public async Task WhileEtcdIsDown_WithSessions_ARequestWithASessionIsRefusedWith503()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync();
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");

        server.Calls.Failing = true;
        using var response = await browser.GetAsync("/me");
        server.Calls.Failing = false;

        Assert.That((int)response.StatusCode, Is.EqualTo(503), "the session middleware's FailRequest, as for any session request");
    }

    [Test]
    public async Task WhileEtcdIsDown_SigningInFails_AndLeavesNoTicketNorCookie()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(withSessions: false);
        var browser = server.NewBrowser();

        server.Calls.Failing = true;
        var failure = await FailureOfAsync(browser, "/signin?user=alice");
        server.Calls.Failing = false;

        Assert.Multiple(async () =>
        {
            Assert.That(failure, Is.InstanceOf<EtcdSessionException>());
            Assert.That(CookieOf(browser), Is.Null);
            Assert.That(await server.TicketsAsync(), Is.Empty);
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("anonymous"));
        });
    }

    [Test]
    public async Task WhileEtcdIsDown_SigningOutFails_RatherThanLeaveALiveTicketBehind()
    {
        await using var server = await SessionTestServer.StartTicketAppAsync(withSessions: false);
        var browser = server.NewBrowser();
        await SignInAsync(browser, "alice");

        server.Calls.Failing = true;
        var failure = await FailureOfAsync(browser, "/signout");
        server.Calls.Failing = false;

        Assert.Multiple(async () =>
        {
            Assert.That(failure, Is.InstanceOf<EtcdSessionException>());
            Assert.That(await server.TicketsAsync(), Has.Count.EqualTo(1));
            Assert.That(await browser.GetStringAsync("/me"), Is.EqualTo("alice"), "still signed in: the user can sign out again");
        });
    }

    /// <summary>The exception a POST ends with (TestServer hands the app's unhandled exception to the client).</summary>
    private static async Task<Exception?> FailureOfAsync(TestBrowser browser, string path)
    {
        try
        {
            using var response = await browser.PostAsync(path);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static async Task SignInAsync(TestBrowser browser, string user) =>
        (await browser.PostAsync($"/signin?user={user}")).EnsureSuccessStatusCode();

    private static string? CookieOf(TestBrowser browser) => browser.Cookie(AuthCookie);

    private static async Task<string> SessionIdAsync(TestBrowser browser)
    {
        using var response = await browser.GetAsync("/me");
        return response.Headers.GetValues("X-Session-Id").Single();
    }
}
