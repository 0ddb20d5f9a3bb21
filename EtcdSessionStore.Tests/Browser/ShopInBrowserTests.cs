using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Etcd.AspNetCore.Session.Tests.Browser;

/// <summary>
/// The demo shop in headless Chromium: two instances on 127.0.0.1 (different ports) sharing the run's etcd and one
/// etcd-backed key ring. Browsers scope cookies by host, not port, so one browser context carries the same
/// cookies to both instances, like a load balancer in front of them would see.
/// </summary>
public sealed class ShopInBrowserTests
{
    private const string SessionCookie = ".Shop.Session";
    private const string LaptopAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    private const string PhoneAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

    private Chromium _chromium = null!;
    private DemoShop _shopA = null!;
    private DemoShop _shopB = null!;

    [OneTimeSetUp]
    public async Task StartBrowserAndShops()
    {
        _chromium = await Chromium.LaunchOrIgnoreAsync();
        SetDefaultExpectTimeout(15_000); // generous on a busy 2-core CI machine; a passing run waits far less
        var prefix = EtcdFixture.UniquePrefix(nameof(ShopInBrowserTests));
        _shopA = await DemoShop.StartAsync(prefix);
        _shopB = await DemoShop.StartAsync(prefix); // after A: it reads the key ring A created
        _shopA.LinkTo(_shopB);
        _shopB.LinkTo(_shopA);
    }

    [OneTimeTearDown]
    public async Task StopBrowserAndShops()
    {
        foreach (var disposable in new IAsyncDisposable?[] { _shopB, _shopA, _chromium })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task SigningInOnOneInstance_ChangesTheCookie_AndTheCartFollowsTheUserToTheOther()
    {
        await using var context = await _chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(_shopA.Url);
        await AddToCartAsync(page, "apple", expectedCount: 1);
        var anonymousCookie = await SessionCookieAsync(context, _shopA.Url);
        await SignInAsync(page, "alice");
        var signedInCookie = await SessionCookieAsync(context, _shopA.Url);
        await AddToCartAsync(page, "bread", expectedCount: 2);
        await Screenshots.SaveAsync(page, "1-instance-A-signed-in");

        await page.GotoAsync(_shopB.Url);
        await Expect(page.GetByText("Signed in as alice")).ToBeVisibleAsync();
        var cartOnB = await CartAsync(page, expectedCount: 2);
        await AddToCartAsync(page, "cheese", expectedCount: 3);
        await Screenshots.SaveAsync(page, "2-instance-B-same-cart");
        var cookieSentToB = await SessionCookieAsync(context, _shopB.Url);
        var cookieSentToA = await SessionCookieAsync(context, _shopA.Url);

        await page.GotoAsync(_shopA.Url);
        var cartBackOnA = await CartAsync(page, expectedCount: 3);

        await using var replay = await OpenShopAWithOnlyAsync(anonymousCookie);
        var replayPage = replay.Pages[0];
        var cartThroughOldCookie = await CartAsync(replayPage, expectedCount: 0);
        var signInFormShown = await replayPage.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).IsVisibleAsync();
        await Screenshots.SaveAsync(replayPage, "3-pre-login-cookie-replayed");

        Assert.Multiple(() =>
        {
            Assert.That(signedInCookie, Is.Not.EqualTo(anonymousCookie), "signing in moves the session to a new key and cookie");
            // Each write renews the cookie (it carries the write's revision, for read-your-writes), so compare at one moment.
            Assert.That(cookieSentToB, Is.EqualTo(cookieSentToA), "one host, two ports: the browser sends the same cookie to both");
            Assert.That(cartOnB, Is.EqualTo(new[] { "apple", "bread" }));
            Assert.That(cartBackOnA, Is.EqualTo(new[] { "apple", "bread", "cheese" }));
            Assert.That(cartThroughOldCookie, Is.Empty, "the pre-login cookie opens a fresh anonymous session");
            Assert.That(signInFormShown, Is.True);
        });
    }

    [Test]
    public async Task SigningOutOnOneInstance_EmptiesTheCartOnBoth_AndTheOldCookieOpensNothing()
    {
        await using var context = await _chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(_shopA.Url);
        await SignInAsync(page, "bob");
        await AddToCartAsync(page, "coffee", expectedCount: 1);
        var signedInCookie = await SessionCookieAsync(context, _shopA.Url);

        await page.GotoAsync(_shopB.Url);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeVisibleAsync();
        var cartOnBAfterSignOut = await CartAsync(page, expectedCount: 0);
        await Screenshots.SaveAsync(page, "1-instance-B-signed-out");
        await page.GotoAsync(_shopA.Url);
        var cartOnAAfterSignOut = await CartAsync(page, expectedCount: 0);

        await using var replay = await OpenShopAWithOnlyAsync(signedInCookie);
        var replayPage = replay.Pages[0];
        var cartThroughOldCookie = await CartAsync(replayPage, expectedCount: 0);

        Assert.Multiple(() =>
        {
            Assert.That(cartOnBAfterSignOut, Is.Empty);
            Assert.That(cartOnAAfterSignOut, Is.Empty);
            Assert.That(cartThroughOldCookie, Is.Empty, "sign-out destroyed the session the old cookie named");
        });
    }

    [Test]
    public async Task AnIdleSession_ExpiresAfterIdleTimeout()
    {
        var idleTimeout = TimeSpan.FromSeconds(3);
        await using var shop = await DemoShop.StartAsync(
            EtcdFixture.UniquePrefix(nameof(AnIdleSession_ExpiresAfterIdleTimeout)), "--EtcdSession:IdleTimeout", idleTimeout.ToString());
        await using var context = await _chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(shop.Url);
        await AddToCartAsync(page, "apple", expectedCount: 1);
        await Screenshots.SaveAsync(page, "1-before-idle");

        // Real time against real etcd: the deadline is rounded up to a whole second, hence the extra second and a margin.
        await Task.Delay(idleTimeout + TimeSpan.FromSeconds(1.5));
        await page.ReloadAsync();
        var cartAfterIdle = await CartAsync(page, expectedCount: 0);
        await Screenshots.SaveAsync(page, "2-after-idle");

        Assert.That(cartAfterIdle, Is.Empty);
    }

    [Test]
    public async Task EveryPage_ShowsItsInstance_ALinkToTheOther_TheSession_AndTheLiveEventLog()
    {
        await using var context = await _chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(_shopA.Url);
        await AddToCartAsync(page, "apple", expectedCount: 1);
        await ExpectEventOfThisSessionAsync(page, "Created");
        await ExpectServedByAsync(page, _shopA, linkingTo: _shopB, path: "/");
        var idOnA = await SessionIdAsync(page);
        await Screenshots.SaveAsync(page, "1-shop-on-A");

        await page.GetByRole(AriaRole.Link, new() { Name = $"Open this page on instance {_shopB.InstanceName}" }).ClickAsync();
        await ExpectServedByAsync(page, _shopB, linkingTo: _shopA, path: "/");
        var cartOnB = await CartAsync(page, expectedCount: 1);
        var idOnB = await SessionIdAsync(page);
        await ExpectEventOfThisSessionAsync(page, "Created"); // B's own watch saw A's write
        await Screenshots.SaveAsync(page, "2-same-session-on-B");

        await page.GetByRole(AriaRole.Link, new() { Name = "This session", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "This session", Level = 1 })).ToBeVisibleAsync();
        await ExpectServedByAsync(page, _shopB, linkingTo: _shopA, path: "/session");
        var idOnSessionPage = await SessionIdAsync(page);
        var revision = await page.Locator("#this-session dd").Nth(2).InnerTextAsync();
        await Screenshots.SaveAsync(page, "3-session-page-on-B");

        await page.GotoAsync(_shopB.Url);
        await SignInAsync(page, "dave");
        await ExpectEventOfThisSessionAsync(page, "Rotated");
        await Screenshots.SaveAsync(page, "4-signed-in-on-B-rotated");

        Assert.Multiple(() =>
        {
            Assert.That(idOnA, Does.Match("^[0-9a-f]{32}$"), "the non-secret id, in full");
            Assert.That(idOnB, Is.EqualTo(idOnA), "one session, whichever instance serves it");
            Assert.That(idOnSessionPage, Is.EqualTo(idOnA));
            Assert.That(cartOnB, Is.EqualTo(new[] { "apple" }));
            Assert.That(revision, Does.Match(@"^\d+ "), "the revision of its last change");
        });
    }

    [Test]
    public async Task TheActiveSessionsPage_ListsBothBrowsers_MarksThisDevice_AndSignsOutTheOther()
    {
        await using var laptop = await _chromium.Browser.NewContextAsync(new() { UserAgent = LaptopAgent });
        await using var phone = await _chromium.Browser.NewContextAsync(new() { UserAgent = PhoneAgent });
        var laptopPage = await laptop.NewPageAsync();
        var phonePage = await phone.NewPageAsync();
        await laptopPage.GotoAsync(_shopA.Url);
        await SignInAsync(laptopPage, "erin");
        await phonePage.GotoAsync(_shopB.Url);
        await SignInAsync(phonePage, "erin");

        await laptopPage.GetByRole(AriaRole.Link, new() { Name = "Active sessions" }).ClickAsync();
        var devices = laptopPage.Locator("article.device");
        await Expect(devices).ToHaveCountAsync(2);
        var thisDevice = devices.Filter(new() { HasText = "This device" });
        await Expect(thisDevice).ToHaveCountAsync(1);
        await Expect(thisDevice).ToContainTextAsync("Firefox on Windows");
        await Expect(thisDevice).ToContainTextAsync(LaptopAgent);
        var other = devices.Filter(new() { HasText = "Chrome on Android" });
        await Expect(other).Not.ToContainTextAsync("This device");
        await Expect(other).ToContainTextAsync("Signed in");
        await Expect(other).ToContainTextAsync("Last seen");
        await Expect(laptopPage.GetByRole(AriaRole.Button, new() { Name = "Sign out everywhere" })).ToBeVisibleAsync();
        await ExpectServedByAsync(laptopPage, _shopA, linkingTo: _shopB, path: "/account/sessions");
        await Screenshots.SaveAsync(laptopPage, "1-two-browsers-on-A");

        await other.GetByRole(AriaRole.Button, new() { Name = "Sign out this one" }).ClickAsync();
        await Expect(devices).ToHaveCountAsync(1);
        await Expect(devices).ToContainTextAsync("This device");
        await Screenshots.SaveAsync(laptopPage, "2-phone-signed-out");

        await phonePage.ReloadAsync();
        await Expect(phonePage.GetByText("Not signed in")).ToBeVisibleAsync();
        await Expect(phonePage.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Screenshots.SaveAsync(phonePage, "3-phone-anonymous-on-B");
    }

    /// <summary>A new browser context (nothing shared with the others) that opens shop A presenting only this session cookie.</summary>
    private async Task<IBrowserContext> OpenShopAWithOnlyAsync(string sessionCookie)
    {
        var context = await _chromium.Browser.NewContextAsync();
        await context.AddCookiesAsync([new Cookie { Name = SessionCookie, Value = sessionCookie, Url = _shopA.Url }]);
        var page = await context.NewPageAsync();
        await page.GotoAsync(_shopA.Url);
        return context;
    }

    /// <summary>The page says which instance served it and links to the same page on the other one.</summary>
    private static async Task ExpectServedByAsync(IPage page, DemoShop shop, DemoShop linkingTo, string path)
    {
        await Expect(page.Locator(".instance")).ToContainTextAsync($"Served by instance {shop.InstanceName}");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"Open this page on instance {linkingTo.InstanceName}" }))
            .ToHaveAttributeAsync("href", linkingTo.Url + path);
    }

    /// <summary>The session's non-secret id, as the page's session card shows it.</summary>
    private static Task<string> SessionIdAsync(IPage page) => page.Locator("#this-session dd code").First.InnerTextAsync();

    /// <summary>
    /// Reloads until the event log shows an event of <paramref name="kind"/> marked as this session's: events come
    /// through the instance's etcd watch a moment after the write, and the log does not refresh by itself.
    /// </summary>
    private static async Task ExpectEventOfThisSessionAsync(IPage page, string kind)
    {
        var row = page.Locator("#event-log tr.mine").Filter(new() { HasText = kind });
        var shown = await Eventually.TrueAsync(async () =>
        {
            if (await row.CountAsync() > 0)
            {
                return true;
            }

            await page.ReloadAsync();
            return false;
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.That(shown, Is.True, $"the event log never showed this session's {kind} event");

        await Expect(row.First).ToContainTextAsync("this session");
    }

    private static async Task SignInAsync(IPage page, string user)
    {
        await page.GetByLabel("User").FillAsync(user);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByText($"Signed in as {user}")).ToBeVisibleAsync();
    }

    private static async Task AddToCartAsync(IPage page, string item, int expectedCount)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = $"Add {item}" }).ClickAsync();
        await CartAsync(page, expectedCount);
    }

    /// <summary>Waits until the page shows a cart of <paramref name="expectedCount"/> items (or times out), then reads it.</summary>
    private static async Task<IReadOnlyList<string>> CartAsync(IPage page, int expectedCount)
    {
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Cart ({expectedCount})" })).ToBeVisibleAsync();
        return await page.Locator("#cart li").AllInnerTextsAsync();
    }

    private static async Task<string> SessionCookieAsync(IBrowserContext context, string url)
    {
        var cookies = await context.CookiesAsync([url]);
        var cookie = cookies.SingleOrDefault(c => c.Name == SessionCookie);
        Assert.That(cookie, Is.Not.Null, $"the browser holds no {SessionCookie} cookie for {url}");
        return cookie!.Value;
    }
}
