using System.Net;
using EtcdSessionStore.Demo;
using Microsoft.AspNetCore.Builder;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// One instance of the demo shop on real Kestrel (127.0.0.1, a free port) using the run's etcd under the given key
/// prefix; instances with the same prefix share sessions and the Data Protection key ring.
/// </summary>
public sealed class DemoShop : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DemoShop(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:41234</c>: always the host 127.0.0.1, so browsers share cookies across instances.</summary>
    public string Url { get; }

    /// <summary>The name the shop's pages give this instance: the port it listens on, e.g. <c>:41234</c>.</summary>
    public string InstanceName => ":" + new Uri(Url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Makes the pages link to <paramref name="peer"/> as the other instance: the <c>Demo:PeerUrl</c> setting that the
    /// build's Demo task passes on the command line, set after start because the free ports are known only then.
    /// </summary>
    public void LinkTo(DemoShop peer) => _app.Configuration["Demo:PeerUrl"] = peer.Url;

    /// <summary>Starts an instance. Start instances one after the other: the first creates the shared key, the rest read it.</summary>
    public static async Task<DemoShop> StartAsync(string prefix, params string[] extraArgs)
    {
        var app = ShopApp.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--EtcdSession:Endpoints", EtcdFixture.Endpoints,
            "--EtcdSession:KeyPrefix", prefix,
            "--Logging:LogLevel:Default", "Warning",
            .. extraArgs,
        ]);
        await app.StartAsync();
        return new DemoShop(app, app.Urls.Single().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>Signs <paramref name="browser"/> in as <paramref name="user"/> on the instance at <paramref name="url"/>.</summary>
    public static async Task SignInAsync(HttpClient browser, string url, string user) =>
        (await browser.PostAsync(url + "/login", Form(("user", user)))).EnsureSuccessStatusCode();

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
