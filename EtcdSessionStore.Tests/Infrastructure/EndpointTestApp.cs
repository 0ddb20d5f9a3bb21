using System.Net;
using dotnet_etcd;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// A minimal-API app on real Kestrel (127.0.0.1, a free port) with cookie sign-in and <c>app.UseEtcdSession()</c>, on the
/// run's etcd under a prefix of its own, with the routes a test maps. Its etcd calls are counted.
/// </summary>
public sealed class EndpointTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EtcdClient _client;

    private EndpointTestApp(WebApplication app, EtcdClient client, string prefix, EtcdCallInterceptor calls)
    {
        _app = app;
        _client = client;
        Prefix = prefix;
        Calls = calls;
        Url = app.Urls.Single();
    }

    public string Url { get; }

    public string Prefix { get; }

    public EtcdCallInterceptor Calls { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<EndpointTestApp> StartAsync(Action<IEndpointRouteBuilder> routes, Action<EtcdSessionOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var prefix = EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        var calls = new EtcdCallInterceptor();
        var client = new EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [calls]);
        var app = await StartAppAsync(kestrel: true, prefix, client, routes, configure, services);
        return new EndpointTestApp(app, client, prefix, calls);
    }

    /// <summary>The app on Kestrel (127.0.0.1, a free port) or on TestServer, on the run's etcd under <paramref name="prefix"/> through <paramref name="client"/>.</summary>
    internal static async Task<WebApplication> StartAppAsync(bool kestrel, string prefix, EtcdClient client, Action<IEndpointRouteBuilder> routes,
        Action<EtcdSessionOptions>? configure, Action<IServiceCollection>? services)
    {
        var builder = NewBuilder(prefix, client, configure, kestrel);
        builder.Services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        app.UseEtcdSession();
        routes(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// A slim app without logging, on a free port of 127.0.0.1 (or on TestServer), whose session store works under
    /// <paramref name="prefix"/> through <paramref name="client"/>.
    /// </summary>
    internal static WebApplicationBuilder NewBuilder(string prefix, EtcdClient client, Action<EtcdSessionOptions>? configure, bool kestrel = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Services.AddEtcdSession(o =>
        {
            o.KeyPrefix = prefix;
            o.ClientFactory = _ => client;
            configure?.Invoke(o);
        });
        return builder;
    }

    /// <summary>A browser: its own cookie jar, no automatic redirects, addressed to this app.</summary>
    public HttpClient NewBrowser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }
}
