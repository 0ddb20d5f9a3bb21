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
            Assert.That(cookieSentToB, Is.EqualTo(signedInCookie), "one host, two ports: the browser sends the same cookie to both");
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

    /// <summary>A new browser context (nothing shared with the others) that opens shop A presenting only this session cookie.</summary>
    private async Task<IBrowserContext> OpenShopAWithOnlyAsync(string sessionCookie)
    {
        var context = await _chromium.Browser.NewContextAsync();
        await context.AddCookiesAsync([new Cookie { Name = SessionCookie, Value = sessionCookie, Url = _shopA.Url }]);
        var page = await context.NewPageAsync();
        await page.GotoAsync(_shopA.Url);
        return context;
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
        return await page.Locator("li").AllInnerTextsAsync();
    }

    private static async Task<string> SessionCookieAsync(IBrowserContext context, string url)
    {
        var cookies = await context.CookiesAsync([url]);
        var cookie = cookies.SingleOrDefault(c => c.Name == SessionCookie);
        Assert.That(cookie, Is.Not.Null, $"the browser holds no {SessionCookie} cookie for {url}");
        return cookie!.Value;
    }
}
