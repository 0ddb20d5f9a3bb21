using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Import;

/// <summary>
/// A shop on Kestrel (127.0.0.1) whose cart lives in the session, deployed either on the stock session
/// (<c>AddSession()</c> over <c>AddStackExchangeRedisCache()</c>) or, "redeployed", on this store with the same Redis
/// registration and the same Data Protection keys (a key directory shared by every deployment of one test). Routes:
/// POST /cart/add?item= (appends to the cart), GET /cart (the cart; X-Session-Id: the session's id).
/// </summary>
public sealed class StockShop : IAsyncDisposable
{
    private readonly IHost _host;

    private StockShop(IHost host, string url, CapturingLoggerProvider logs)
    {
        _host = host;
        Url = url;
        Logs = logs;
    }

    public string Url { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _host.Services;

    /// <summary>The previous version: the stock session over Redis.</summary>
    public static Task<StockShop> StartStockAsync(RedisServer redis, ShopDeployment deployment) =>
        StartAsync(redis, deployment, etcd: null, services => services.AddSession());

    /// <summary>The next version: this store, with the app's Redis registration kept for the import.</summary>
    public static Task<StockShop> StartEtcdAsync(RedisServer redis, ShopDeployment deployment, Action<EtcdSessionOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        StartAsync(redis, deployment, etcd: o =>
        {
            o.Endpoints = EtcdFixture.Endpoints;
            o.KeyPrefix = deployment.Prefix;
            o.Import.Enabled = true;
            configure?.Invoke(o);
        }, services);

    private static async Task<StockShop> StartAsync(RedisServer redis, ShopDeployment deployment, Action<EtcdSessionOptions>? etcd, Action<IServiceCollection>? services)
    {
        var logs = new CapturingLoggerProvider();
        var host = new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .ConfigureWebHost(web => web.UseKestrel().UseUrls("http://127.0.0.1:0")
                .ConfigureServices(collection =>
                {
                    collection.AddStackExchangeRedisCache(o =>
                    {
                        o.Configuration = redis.Endpoint;
                        o.InstanceName = deployment.RedisInstance;
                    });
                    collection.AddDataProtection().PersistKeysToFileSystem(deployment.Keys).SetApplicationName(ShopDeployment.ApplicationNameForTests);
                    if (etcd is not null)
                    {
                        collection.AddEtcdSession(etcd);
                    }

                    services?.Invoke(collection);
                })
                .Configure(app =>
                {
                    if (etcd is null)
                    {
                        app.UseSession();
                    }
                    else
                    {
                        app.UseEtcdSession();
                    }

                    app.Run(HandleAsync);
                }))
            .Build();
        await host.StartAsync();
        var url = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new StockShop(host, url, logs);
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var session = context.Session;
        await session.LoadAsync(context.RequestAborted);
        if (!session.IsAvailable)
        {
            context.Response.Headers["X-Session-Available"] = "false";
            return;
        }

        var cart = session.GetString("cart") ?? "";
        if (context.Request.Path == "/cart/add")
        {
            cart += context.Request.Query["item"] + ";";
            session.SetString("cart", cart);
            session.SetInt32("count", (session.GetInt32("count") ?? 0) + 1);
        }

        context.Response.Headers["X-Session-Id"] = session.Id;
        await context.Response.WriteAsync(cart);
    }

    /// <summary>A browser: its own cookie jar, for every deployment of the shop (cookies do not depend on the port).</summary>
    public static HttpClient NewBrowser(CookieContainer? cookies = null) =>
        new(new SocketsHttpHandler { CookieContainer = cookies ?? new CookieContainer(), UseCookies = true, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A client that keeps no cookies: the test sets the Cookie header itself.</summary>
    public static HttpClient NewBareClient() =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };

    public Uri At(string pathAndQuery) => new(new Uri(Url), pathAndQuery);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>What the deployments of one shop share: its Redis instance name, its Data Protection keys and its etcd prefix.</summary>
public sealed class ShopDeployment : IDisposable
{
    public ShopDeployment(string test)
    {
        Keys = Directory.CreateTempSubdirectory("import-keys-");
        RedisInstance = $"{test}-{Guid.NewGuid():N}:";
        Prefix = EtcdFixture.UniquePrefix(test);
    }

    public DirectoryInfo Keys { get; }

    public string RedisInstance { get; }

    public string Prefix { get; }

    /// <summary>The stock session key a stock cookie carries (as the browser holds it: URL-encoded), unprotected as the stock middleware does.</summary>
    public string StockKeyOf(string cookie)
    {
        cookie = Uri.UnescapeDataString(cookie);
        var protector = DataProtectionProvider.Create(Keys, b => b.SetApplicationName(ApplicationNameForTests)).CreateProtector("SessionMiddleware");
        var padded = cookie.PadRight(cookie.Length + (4 - cookie.Length % 4) % 4, '=');
        return System.Text.Encoding.UTF8.GetString(protector.Unprotect(Convert.FromBase64String(padded)));
    }

    internal const string ApplicationNameForTests = "import-test-shop";

    public void Dispose() => Keys.Delete(recursive: true);
}
