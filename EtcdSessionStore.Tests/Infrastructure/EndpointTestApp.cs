using System.Net;
using dotnet_etcd;
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
/// A minimal-API app on real Kestrel (127.0.0.1, a free port) or, with <c>kestrel: false</c>, on TestServer, with cookie
/// sign-in and <c>app.UseEtcdSession()</c>, on the run's etcd under a prefix of its own (or one given, known before the
/// routes are mapped, so that an endpoint can act on its own sessions in etcd), with the routes a test maps. Its etcd
/// calls are counted and can be made to fail.
/// </summary>
public sealed class EndpointTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EtcdClient _client;
    private readonly string? _url;

    private EndpointTestApp(WebApplication app, EtcdClient client, string prefix, EtcdCallInterceptor calls, bool kestrel)
    {
        _app = app;
        _client = client;
        Prefix = prefix;
        Calls = calls;
        _url = kestrel ? app.Urls.Single() : null;
    }

    /// <summary>The base URL on Kestrel.</summary>
    public string Url => _url ?? throw new InvalidOperationException("The app runs on TestServer: use NewTestBrowser().");

    public string Prefix { get; }

    public EtcdCallInterceptor Calls { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<EndpointTestApp> StartAsync(Action<IEndpointRouteBuilder> routes, Action<EtcdSessionOptions>? configure = null,
        Action<IServiceCollection>? services = null, bool kestrel = true, string? prefix = null)
    {
        prefix ??= EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        var calls = new EtcdCallInterceptor();
        var client = EtcdTestClient.Create(interceptors: calls);
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
        return new EndpointTestApp(app, client, prefix, calls, kestrel);
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

    /// <summary>A browser: its own cookie jar, no automatic redirects, addressed to this app (on Kestrel).</summary>
    public HttpClient NewBrowser() => Browsers.Open(Url);

    /// <summary>A browser on Kestrel or TestServer, whose cookies a test can read and set.</summary>
    public TestBrowser NewTestBrowser() => new(_url is null ? _app.GetTestClient() : Browsers.Bare(_url));

    /// <summary>Gives <paramref name="to"/> the cookies of <paramref name="from"/> other than the session's (its sign-in).</summary>
    public void CopySignIn(TestBrowser from, TestBrowser to)
    {
        var origin = _url is null ? _app.GetTestServer().BaseAddress : new Uri(_url);
        foreach (Cookie cookie in from.Cookies.GetCookies(origin))
        {
            if (cookie.Name != EtcdSessionDefaults.CookieName)
            {
                to.Cookies.Add(origin, new Cookie(cookie.Name, cookie.Value));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }
}
