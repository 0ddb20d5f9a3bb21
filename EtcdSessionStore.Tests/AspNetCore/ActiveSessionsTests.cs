using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using static Etcd.AspNetCore.Session.Tests.Infrastructure.DemoShop;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The demo's "active sessions": one user in several browsers, across two instances sharing etcd.</summary>
public sealed class ActiveSessionsTests
{
    [Test]
    public async Task GetSessions_ListsEveryBrowserOfTheUser_AndMarksThisOne()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(ActiveSessionsTests));
        await using var first = await StartAsync(prefix);
        await using var second = await StartAsync(prefix);
        using var phone = Browsers.Open(userAgent: "Phone/1.0");
        using var laptop = Browsers.Open(userAgent: "Laptop/2.0");
        using var stranger = Browsers.Open();
        await SignInAsync(phone, first.Url, "alice");
        await SignInAsync(laptop, second.Url, "alice");
        await SignInAsync(stranger, first.Url, "bob");

        var sessions = await phone.GetFromJsonAsync<JsonElement[]>(second.Url + "/sessions");
        using var anonymous = Browsers.Open();
        using var refused = await anonymous.GetAsync(first.Url + "/sessions");

        Assert.Multiple(() =>
        {
            Assert.That(sessions!.Select(s => s.GetProperty("userAgent").GetString()), Is.EquivalentTo(new[] { "Phone/1.0", "Laptop/2.0" }));
            Assert.That(sessions!.Single(s => s.GetProperty("current").GetBoolean()).GetProperty("userAgent").GetString(), Is.EqualTo("Phone/1.0"));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task SignOutEverywhere_LeavesEveryOtherBrowserAnonymous_WithAFreshSession()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(ActiveSessionsTests));
        await using var first = await StartAsync(prefix);
        await using var second = await StartAsync(prefix);
        using var phone = Browsers.Open(userAgent: "Phone/1.0");
        using var laptop = Browsers.Open(userAgent: "Laptop/2.0");
        await SignInAsync(phone, first.Url, "alice");
        await SignInAsync(laptop, second.Url, "alice");
        (await laptop.PostAsync(second.Url + "/cart", Form(("item", "apple")))).EnsureSuccessStatusCode();

        using var everywhere = await phone.PostAsync(first.Url + "/sessions/revoke-all", null);
        var revoked = (await everywhere.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32();

        // The laptop's next request, on the other instance: no cart, not signed in.
        var laptopCart = await laptop.GetFromJsonAsync<string[]>(second.Url + "/cart");
        using var laptopSessions = await laptop.GetAsync(second.Url + "/sessions");
        using var phoneSessions = await phone.GetAsync(first.Url + "/sessions");
        Assert.Multiple(() =>
        {
            Assert.That(revoked, Is.EqualTo(2));
            Assert.That(laptopCart, Is.Empty);
            Assert.That(laptopSessions.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the laptop is anonymous again");
            Assert.That(phoneSessions.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "and so is this browser");
        });

        // Signing in again works, with a session of its own.
        await SignInAsync(laptop, first.Url, "alice");
        var sessions = await laptop.GetFromJsonAsync<JsonElement[]>(first.Url + "/sessions");
        Assert.That(sessions, Has.Length.EqualTo(1));
    }

    [Test]
    public async Task SignOutThisOne_EndsOnlyThatBrowsersSession()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(ActiveSessionsTests));
        await using var shop = await StartAsync(prefix);
        using var phone = Browsers.Open(userAgent: "Phone/1.0");
        using var laptop = Browsers.Open(userAgent: "Laptop/2.0");
        await SignInAsync(phone, shop.Url, "alice");
        await SignInAsync(laptop, shop.Url, "alice");
        var laptopId = (await phone.GetFromJsonAsync<JsonElement[]>(shop.Url + "/sessions"))!
            .Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;

        (await phone.PostAsync(shop.Url + "/sessions/revoke", Form(("id", laptopId)))).EnsureSuccessStatusCode();

        using var laptopAfter = await laptop.GetAsync(shop.Url + "/sessions");
        var phoneAfter = await phone.GetFromJsonAsync<JsonElement[]>(shop.Url + "/sessions");
        Assert.That(laptopAfter.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(phoneAfter!.Single().GetProperty("current").GetBoolean(), Is.True);
    }

    [Test]
    public async Task TheActiveSessionsPage_ShowsTheSessionsWithTheirButtons()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(ActiveSessionsTests));
        await using var shop = await StartAsync(prefix);
        using var phone = Browsers.Open(userAgent: "Phone/1.0");
        await SignInAsync(phone, shop.Url, "alice");

        var page = await phone.GetStringAsync(shop.Url + "/account/sessions");

        Assert.That(page, Does.Contain("Phone/1.0").And.Contain("This device").And.Contain("Sign out this one").And.Contain("Sign out everywhere"));
    }
}
