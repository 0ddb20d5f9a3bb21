using System.Diagnostics.Metrics;
using System.Net;
using dotnet_etcd;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Import;

/// <summary>
/// EtcdSessionOptions.Import end to end: an app fills carts with the stock session over a real Redis, on Kestrel, and is
/// redeployed on this store over the same Redis and Data Protection keys.
/// </summary>
[NonParallelizable]
public sealed class SessionImportTests
{
    private const string StockCookie = ".AspNetCore.Session";
    private const string EtcdCookie = ".Etcd.Session";
    private RedisServer _redis = null!;

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [Test]
    public async Task Redeploy_EachBrowserKeepsItsCart_GetsTheNewCookie_AndTheOldCookieOpensNothingAfterwards()
    {
        using var deployment = new ShopDeployment(nameof(Redeploy_EachBrowserKeepsItsCart_GetsTheNewCookie_AndTheOldCookieOpensNothingAfterwards));
        var jars = Enumerable.Range(0, 3).Select(_ => new CookieContainer()).ToArray();
        var carts = new string[jars.Length];
        var oldCookies = new string[jars.Length];
        await using (var stock = await StockShop.StartStockAsync(_redis, deployment))
        {
            for (var i = 0; i < jars.Length; i++)
            {
                using var browser = StockShop.NewBrowser(jars[i]);
                await browser.PostAsync(stock.At($"/cart/add?item=apple-{i}"), null);
                var response = await browser.PostAsync(stock.At($"/cart/add?item=pear-{i}"), null);
                carts[i] = await response.Content.ReadAsStringAsync();
                oldCookies[i] = CookieOf(jars[i], stock, StockCookie)!;
            }
        }

        Assert.That(carts, Is.EqualTo(new[] { "apple-0;pear-0;", "apple-1;pear-1;", "apple-2;pear-2;" }));

        await using var shop = await StockShop.StartEtcdAsync(_redis, deployment, o => o.Import.ClaimLifetime = TimeSpan.FromSeconds(2));
        using var metrics = new MeasurementRecorder(shop.Services.GetRequiredService<IMeterFactory>());
        var ids = new List<string>();
        for (var i = 0; i < jars.Length; i++)
        {
            using var browser = StockShop.NewBrowser(jars[i]);
            var response = await browser.GetAsync(shop.At("/cart"));

            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(carts[i]), "the browser keeps its cart");
            Assert.That(CookieOf(jars[i], shop, EtcdCookie), Is.Not.Null, "the browser gets this store's cookie");
            Assert.That(CookieOf(jars[i], shop, StockCookie), Is.Null, "the stock cookie is expired");
            ids.Add(response.Headers.GetValues("X-Session-Id").Single());

            // The next request is served by this store alone: the session goes on.
            var next = await browser.PostAsync(shop.At($"/cart/add?item=plum-{i}"), null);
            Assert.That(await next.Content.ReadAsStringAsync(), Is.EqualTo(carts[i] + $"plum-{i};"));
        }

        Assert.That(ids, Is.Unique);
        Assert.That(metrics.Sum("etcd.session.imports", ("result", "imported")), Is.EqualTo(3));
        Assert.That(await SessionCountAsync(deployment), Is.EqualTo(3));
        Assert.That(shop.Logs.Entries.Count(e => e.EventId.Id == 140), Is.EqualTo(3), shop.Logs.AllText);

        // The imported entries are gone from Redis; once the claim's minute (2 s here) is over the old cookie opens nothing.
        var redis = StockCache(deployment);
        for (var i = 0; i < jars.Length; i++)
        {
            Assert.That(await redis.GetAsync(deployment.StockKeyOf(oldCookies[i])), Is.Null, "the imported entry is deleted");
        }

        using var replay = StockShop.NewBareClient();
        await EventuallyAsync(async () =>
        {
            var response = await SendWithCookieAsync(replay, shop.At("/cart"), $"{StockCookie}={oldCookies[0]}");
            return await response.Content.ReadAsStringAsync() == "";
        });
    }

    [Test]
    public async Task ConcurrentFirstRequests_OfOneBrowser_EndInOneSession()
    {
        using var deployment = new ShopDeployment(nameof(ConcurrentFirstRequests_OfOneBrowser_EndInOneSession));
        var oldCookie = await FillStockCartAsync(deployment, "book;");

        await using var shop = await Redeployed.StartAsync(_redis, deployment);
        using var start = new SemaphoreSlim(0);
        var requests = Enumerable.Range(0, 6).Select(async _ =>
        {
            await start.WaitAsync();
            var response = await shop.SendAsync("/cart", oldCookie);
            return (Cart: await response.Content.ReadAsStringAsync(), Id: response.Headers.GetValues("X-Session-Id").Single(),
                SetCookie: response.Headers.TryGetValues("Set-Cookie", out var set) ? set.ToArray() : []);
        }).ToArray();
        start.Release(requests.Length);
        var results = await Task.WhenAll(requests);

        Assert.That(results.Select(r => r.Cart), Is.All.EqualTo("book;"), "every tab sees the cart");
        Assert.That(results.Select(r => r.Id).Distinct().Count(), Is.EqualTo(1), "one session");
        Assert.That(results, Is.All.Matches<(string Cart, string Id, string[] SetCookie)>(r => r.SetCookie.Any(c => c.StartsWith(EtcdCookie + "=", StringComparison.Ordinal))),
            "every tab gets a cookie for it");
        Assert.That(await SessionCountAsync(deployment), Is.EqualTo(1));
        Assert.That(shop.Metrics.Sum("etcd.session.imports", ("result", "imported")), Is.EqualTo(1));
        Assert.That(shop.Shop.Logs.Entries.Count(e => e.EventId.Id == 141), Is.EqualTo(results.Length - 1), "the other tabs joined it");
    }

    [Test]
    public async Task TamperedStockCookie_GivesAFreshSession()
    {
        using var deployment = new ShopDeployment(nameof(TamperedStockCookie_GivesAFreshSession));
        var oldCookie = await FillStockCartAsync(deployment, "watch;");
        var tampered = oldCookie[..10] + (oldCookie[10] == 'A' ? 'B' : 'A') + oldCookie[11..];

        await using var shop = await Redeployed.StartAsync(_redis, deployment);
        var response = await shop.SendAsync("/cart/add?item=lamp", tampered);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("lamp;"), "a fresh session, without the stock cart");
        Assert.That(response.Headers.GetValues("Set-Cookie"), Has.Some.StartsWith(StockCookie + "=;").And.Some.StartsWith(EtcdCookie + "="));
        Assert.That(shop.Metrics.Sum("etcd.session.imports", ("result", "rejected")), Is.EqualTo(1));
        Assert.That(await StockCache(deployment).GetAsync(deployment.StockKeyOf(oldCookie)), Is.Not.Null, "the stock entry is left alone");
    }

    [Test]
    public async Task StockValueNotInTheStockFormat_GivesAFreshSession_AndCountsCorrupt()
    {
        using var deployment = new ShopDeployment(nameof(StockValueNotInTheStockFormat_GivesAFreshSession_AndCountsCorrupt));
        var oldCookie = await FillStockCartAsync(deployment, "chair;");
        var redis = StockCache(deployment);
        byte[] garbage = [2, 0, 0, 5, 1, 2, 3];
        await redis.SetAsync(deployment.StockKeyOf(oldCookie), garbage);

        await using var shop = await Redeployed.StartAsync(_redis, deployment);
        var response = await shop.SendAsync("/cart", oldCookie);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
        Assert.That(shop.Metrics.Sum("etcd.session.imports", ("result", "corrupt")), Is.EqualTo(1));
        Assert.That(shop.Shop.Logs.Entries.Any(e => e.EventId.Id == 143), Is.True, shop.Shop.Logs.AllText);
        Assert.That(await redis.GetAsync(deployment.StockKeyOf(oldCookie)), Is.EqualTo(garbage), "the value stays in the previous store");
        Assert.That(await SessionCountAsync(deployment), Is.Zero);
    }

    [Test]
    public async Task StockSessionGone_GivesAFreshSession_AndCountsMissing()
    {
        using var deployment = new ShopDeployment(nameof(StockSessionGone_GivesAFreshSession_AndCountsMissing));
        var oldCookie = await FillStockCartAsync(deployment, "desk;");
        await StockCache(deployment).RemoveAsync(deployment.StockKeyOf(oldCookie));

        await using var shop = await Redeployed.StartAsync(_redis, deployment);
        var response = await shop.SendAsync("/cart", oldCookie);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
        Assert.That(response.Headers.GetValues("Set-Cookie"), Has.Some.StartsWith(StockCookie + "=;"));
        Assert.That(shop.Metrics.Sum("etcd.session.imports", ("result", "missing")), Is.EqualTo(1));
    }

    [Test]
    public async Task ImportSwitchesItselfOff_AfterUntil()
    {
        using var deployment = new ShopDeployment(nameof(ImportSwitchesItselfOff_AfterUntil));
        var oldCookie = await FillStockCartAsync(deployment, "rug;");

        await using var shop = await Redeployed.StartAsync(_redis, deployment, o => o.Import.Until = DateTimeOffset.UtcNow.AddMinutes(-1));
        var response = await shop.SendAsync("/cart", oldCookie);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty, "past Until the stock cookie is ignored");
        Assert.That(shop.Metrics.All.Where(m => m.Name == "etcd.session.imports"), Is.Empty);
        Assert.That(await StockCache(deployment).GetAsync(deployment.StockKeyOf(oldCookie)), Is.Not.Null);
    }

    [TestCase(EtcdSessionUnavailableBehavior.FailRequest, HttpStatusCode.ServiceUnavailable)]
    [TestCase(EtcdSessionUnavailableBehavior.ContinueWithoutSession, HttpStatusCode.OK)]
    public async Task PreviousStoreDown_FollowsUnavailableBehavior_AndKeepsTheStockCookie(EtcdSessionUnavailableBehavior behavior, HttpStatusCode expected)
    {
        using var deployment = new ShopDeployment(nameof(PreviousStoreDown_FollowsUnavailableBehavior_AndKeepsTheStockCookie));
        var oldCookie = await FillStockCartAsync(deployment, "vase;");

        // The app's Redis is unreachable: its registration points at a port nothing listens on.
        await using var shop = await Redeployed.StartAsync(_redis, deployment, o => o.UnavailableBehavior = behavior,
            services => services.Configure<RedisCacheOptions>(o => o.Configuration = $"127.0.0.1:{DevEtcd.EtcdMember.FreePort()},connectTimeout=500"));
        var response = await shop.SendAsync("/cart", oldCookie);

        Assert.That(response.StatusCode, Is.EqualTo(expected));
        if (behavior == EtcdSessionUnavailableBehavior.ContinueWithoutSession)
        {
            Assert.That(response.Headers.GetValues("X-Session-Available"), Is.EqualTo(new[] { "false" }));
        }

        Assert.That(response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], Has.None.StartsWith(StockCookie + "="), "the next request tries again");
        Assert.That(shop.Shop.Logs.Entries.Any(e => e.EventId.Id == 145), Is.True, shop.Shop.Logs.AllText);
    }

    [Test]
    public async Task EtcdFailsDuringTheImport_FollowsUnavailableBehavior_AndTheNextRequestImports()
    {
        using var deployment = new ShopDeployment(nameof(EtcdFailsDuringTheImport_FollowsUnavailableBehavior_AndTheNextRequestImports));
        var oldCookie = await FillStockCartAsync(deployment, "clock;");
        var calls = new EtcdCallInterceptor { FailingMethod = "Txn" };

        await using var shop = await Redeployed.StartAsync(_redis, deployment, o => o.CallInterceptors = [calls]);
        var failed = await shop.SendAsync("/cart", oldCookie);

        Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(failed.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], Has.None.StartsWith(StockCookie + "="), "the stock cookie is kept");
        Assert.That(await StockCache(deployment).GetAsync(deployment.StockKeyOf(oldCookie)), Is.Not.Null, "nothing is removed before the session is stored");

        calls.FailingMethod = null;
        var retried = await shop.SendAsync("/cart", oldCookie);

        Assert.That(await retried.Content.ReadAsStringAsync(), Is.EqualTo("clock;"));
        Assert.That(await SessionCountAsync(deployment), Is.EqualTo(1));
    }

    [Test]
    public async Task ImportWhoseReplyIsLost_StoresOneSession_AndTheBrowserGetsIt()
    {
        using var deployment = new ShopDeployment(nameof(ImportWhoseReplyIsLost_StoresOneSession_AndTheBrowserGetsIt));
        var oldCookie = await FillStockCartAsync(deployment, "kettle;");
        var calls = new EtcdCallInterceptor();
        calls.DropNextReply("Txn");

        await using var shop = await Redeployed.StartAsync(_redis, deployment, o => o.CallInterceptors = [calls]);
        var first = await shop.SendAsync("/cart", oldCookie);
        // The store may retry the transaction (its claim then hands this request its own session) or answer 503 and
        // keep the stock cookie (the next request then finds the claim): either way one session, and the cart.
        var cart = first.StatusCode == HttpStatusCode.OK ? await first.Content.ReadAsStringAsync() : await (await shop.SendAsync("/cart", oldCookie)).Content.ReadAsStringAsync();

        Assert.That(cart, Is.EqualTo("kettle;"));
        Assert.That(await SessionCountAsync(deployment), Is.EqualTo(1));
        Assert.That(shop.Metrics.Sum("etcd.session.imports", ("result", "imported")), Is.EqualTo(1), "counted once, as imported");
        Assert.That(await StockCache(deployment).GetAsync(deployment.StockKeyOf(oldCookie)), Is.Null, "the imported entry is removed");
    }

    [Test]
    public void ImportOn_WithoutAnIDistributedCache_FailsAtStart()
    {
        var host = new HostBuilder().ConfigureServices(s => s.AddEtcdSession(o =>
        {
            o.Endpoints = EtcdFixture.Endpoints;
            o.Import.Enabled = true;
            o.Import.CookieName = ".Etcd.Session";
        })).Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Failures, Has.Some.StartsWith("EtcdSession:Import:CookieName '.Etcd.Session' is invalid")
            .And.Some.StartsWith("EtcdSession:Import:Enabled 'True' needs the previous store"));
        host.Dispose();
    }

    /// <summary>The shop redeployed on this store (import on), its measurements recorded, and a client that keeps no cookies.</summary>
    private sealed class Redeployed : IAsyncDisposable
    {
        private readonly HttpClient _client = StockShop.NewBareClient();

        private Redeployed(StockShop shop)
        {
            Shop = shop;
            Metrics = new MeasurementRecorder(shop.Services.GetRequiredService<IMeterFactory>());
        }

        public StockShop Shop { get; }

        public MeasurementRecorder Metrics { get; }

        public static async Task<Redeployed> StartAsync(RedisServer redis, ShopDeployment deployment, Action<EtcdSessionOptions>? configure = null,
            Action<IServiceCollection>? services = null) => new(await StockShop.StartEtcdAsync(redis, deployment, configure, services));

        /// <summary>A request that carries the stock cookie <paramref name="stockCookie"/> and nothing else.</summary>
        public Task<HttpResponseMessage> SendAsync(string pathAndQuery, string stockCookie) =>
            SendWithCookieAsync(_client, Shop.At(pathAndQuery), $"{StockCookie}={stockCookie}");

        public async ValueTask DisposeAsync()
        {
            Metrics.Dispose();
            _client.Dispose();
            await Shop.DisposeAsync();
        }
    }

    /// <summary>A browser fills its cart on the stock deployment; returns its stock cookie.</summary>
    private async Task<string> FillStockCartAsync(ShopDeployment deployment, string items)
    {
        var jar = new CookieContainer();
        await using var stock = await StockShop.StartStockAsync(_redis, deployment);
        using var browser = StockShop.NewBrowser(jar);
        foreach (var item in items.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            await browser.PostAsync(stock.At($"/cart/add?item={item}"), null);
        }

        return CookieOf(jar, stock, StockCookie) ?? throw new InvalidOperationException("the stock deployment set no cookie");
    }

    private IDistributedCache StockCache(ShopDeployment deployment) =>
        new RedisCache(Options.Create(new RedisCacheOptions { Configuration = _redis.Endpoint, InstanceName = deployment.RedisInstance }));

    private static string? CookieOf(CookieContainer jar, StockShop shop, string name) => jar.GetCookies(new Uri(shop.Url))[name]?.Value;

    private static Task<HttpResponseMessage> SendWithCookieAsync(HttpClient client, Uri uri, string cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (uri.AbsolutePath.StartsWith("/cart/add", StringComparison.Ordinal))
        {
            request.Method = HttpMethod.Post;
        }

        request.Headers.Add("Cookie", cookie);
        return client.SendAsync(request);
    }

    private static async Task<long> SessionCountAsync(ShopDeployment deployment)
    {
        var response = await EtcdFixture.Client.GetRangeAsync(deployment.Prefix + "s/");
        return response.Count;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("the condition did not hold within 60 s");
            }

            await Task.Delay(250);
        }
    }
}
