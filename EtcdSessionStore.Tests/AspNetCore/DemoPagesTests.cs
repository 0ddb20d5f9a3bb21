using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using static Etcd.AspNetCore.Session.Tests.Infrastructure.DemoShop;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The demo's pages on real Kestrel: what they say about the instance, the session and the events; nothing printed unencoded.</summary>
public sealed class DemoPagesTests
{
    private static readonly string[] Pages = ["/", "/session", "/account/sessions"];

    [Test]
    public async Task EveryPage_SaysWhichInstanceServedIt_AndLinksToTheSamePageOnThePeer()
    {
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoPagesTests)), "--Demo:PeerUrl", "http://127.0.0.1:5001");
        using var browser = Browsers.Open();
        await SignInAsync(browser, shop.Url, "alice");

        foreach (var path in Pages)
        {
            var page = await browser.GetStringAsync(shop.Url + path);

            Assert.That(page, Does.Contain($"Served by instance <b>{shop.InstanceName}</b>")
                .And.Contain($"""<a class=peer href="http://127.0.0.1:5001{path}">Open this page on instance :5001"""), path);
        }
    }

    [Test]
    public async Task WithoutAPeerUrl_NoPeerLink_AndAnInstanceNameSettingIsShown()
    {
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoPagesTests)), "--Demo:InstanceName", "eu-west <1>");
        using var browser = Browsers.Open();

        var page = await browser.GetStringAsync(shop.Url + "/");

        Assert.That(page, Does.Contain("Served by instance <b>eu-west &lt;1&gt;</b>").And.Not.Contain("class=peer"));
    }

    [Test]
    public async Task UserNamesAndUserAgents_AreHtmlEncodedOnEveryPage()
    {
        const string user = "<script>alert(1)</script>";
        const string agent = "Evil/1.0 <img src=x onerror=alert(2)>";
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoPagesTests)));
        using var browser = Browsers.Open();
        browser.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", agent);
        await SignInAsync(browser, shop.Url, user);
        (await browser.PostAsync(shop.Url + "/cart", Form(("item", "<b>pear</b>")))).EnsureSuccessStatusCode();
        await EventuallyAsync(async () => (await EventsAsync(browser, shop.Url)).Any(e => e.GetProperty("user").GetString() == user));

        foreach (var path in Pages)
        {
            var page = await browser.GetStringAsync(shop.Url + path);

            Assert.That(page, Does.Not.Contain("<script>alert").And.Not.Contain("<img").And.Not.Contain("<b>pear"), path);
        }

        var sessions = await browser.GetStringAsync(shop.Url + "/account/sessions");
        var home = await browser.GetStringAsync(shop.Url + "/");
        Assert.Multiple(() =>
        {
            Assert.That(sessions, Does.Contain("&lt;script&gt;alert(1)&lt;/script&gt;").And.Contain("&lt;img src=x onerror=alert(2)&gt;"));
            Assert.That(home, Does.Contain("&lt;b&gt;pear&lt;/b&gt;"), "the cart item, encoded");
        });
    }

    [Test]
    public async Task TheEventLog_OfOneInstance_ShowsWhatTheOtherDid()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(DemoPagesTests));
        await using var first = await StartAsync(prefix);
        await using var second = await StartAsync(prefix);
        using var browser = Browsers.Open();
        (await browser.PostAsync(second.Url + "/cart", Form(("item", "apple")))).EnsureSuccessStatusCode();
        await SignInAsync(browser, first.Url, "carol"); // a stored session: signing in rotates it
        var id = (await browser.GetFromJsonAsync<JsonElement[]>(first.Url + "/sessions"))!.Single().GetProperty("id").GetString()!;

        await EventuallyAsync(async () => (await EventsAsync(browser, second.Url))
            .Any(e => e.GetProperty("kind").GetString() == "Rotated" && e.GetProperty("sessionId").GetString() == id));
        var page = await browser.GetStringAsync(second.Url + "/");

        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain($"<code>{id}</code>"), "the session card shows the non-secret id");
            Assert.That(page, Does.Match(@"<dt>Revision</dt><dd><code>\d+</code>"), "and the revision of its last change");
            Assert.That(page, Does.Contain("<dt>Expires unless used</dt>"));
            Assert.That(page, Does.Contain("<tr class=mine>").And.Contain("Rotated"), "the event log marks this session's rotation");
        });
    }

    [Test]
    public async Task TheEventLog_RefreshesItselfFromAFragment_ThatIsTheSameLog()
    {
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoPagesTests)));
        using var browser = Browsers.Open();
        (await browser.PostAsync(shop.Url + "/cart", Form(("item", "apple")))).EnsureSuccessStatusCode();
        await EventuallyAsync(async () => (await EventsAsync(browser, shop.Url)).Length > 0);

        var page = await browser.GetStringAsync(shop.Url + "/");
        var fragment = await browser.GetStringAsync(shop.Url + "/events/log");

        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain("fetch('/events/log')"), "the page polls the fragment");
            Assert.That(fragment, Does.StartWith("<section class=card id=event-log>").And.Contain("<tr class=mine>"));
        });
    }

    [Test]
    public async Task TheStylesheet_IsServedByTheShopItself()
    {
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoPagesTests)));
        using var browser = Browsers.Open();

        using var css = await browser.GetAsync(shop.Url + "/demo.css");
        var stylesheet = await css.Content.ReadAsStringAsync();
        var page = await browser.GetStringAsync(shop.Url + "/");

        Assert.Multiple(() =>
        {
            Assert.That(css.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(css.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/css"));
            Assert.That(stylesheet, Does.Contain(".card"));
            Assert.That(page, Does.Contain("<link rel=stylesheet href=/demo.css>").And.Not.Contain("https://"), "nothing from the internet");
        });
    }

    private static async Task<JsonElement[]> EventsAsync(HttpClient browser, string url) =>
        (await browser.GetFromJsonAsync<JsonElement[]>(url + "/events"))!;

    /// <summary>Events arrive through an etcd watch, a moment after the write: wait for them (up to 15 s on a busy machine).</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition) =>
        Assert.That(await Eventually.TrueAsync(condition, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50)), Is.True, "the event did not arrive");
}
