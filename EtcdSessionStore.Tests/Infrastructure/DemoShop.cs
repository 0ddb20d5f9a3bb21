using System.Net;
using EtcdSessionStore.Demo;
using Microsoft.AspNetCore.Builder;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>One instance of the demo shop on real Kestrel (loopback, a free port) against the shared etcd.</summary>
public sealed class DemoShop : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DemoShop(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<DemoShop> StartAsync(string prefix)
    {
        var app = ShopApp.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--EtcdSession:Endpoints", EtcdFixture.Endpoints,
            "--EtcdSession:KeyPrefix", prefix,
            "--Logging:LogLevel:Default", "Warning",
        ]);
        await app.StartAsync();
        return new DemoShop(app, app.Urls.Single());
    }

    /// <summary>A browser: its own cookie jar, no automatic redirects.</summary>
    public static HttpClient Browser(string? userAgent = null)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        if (userAgent is not null)
        {
            client.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        }

        return client;
    }

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
