using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using dotnet_etcd;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// A minimal-API app with cookie sign-in and <c>UseEtcdSession()</c> on Kestrel (127.0.0.1) or TestServer, on the run's
/// etcd under a prefix known before the routes are mapped (so an endpoint can act on its own sessions in etcd), its
/// etcd calls counted and failable.
/// </summary>
internal sealed class MinimalSessionApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EtcdClient _client;
    private readonly bool _kestrel;

    private MinimalSessionApp(WebApplication app, EtcdClient client, EtcdCallInterceptor calls, bool kestrel)
    {
        _app = app;
        _client = client;
        _kestrel = kestrel;
        Calls = calls;
    }

    public EtcdCallInterceptor Calls { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<MinimalSessionApp> StartAsync(bool kestrel, string prefix, Action<IEndpointRouteBuilder> routes, Action<EtcdSessionOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var calls = new EtcdCallInterceptor();
        var client = new EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [calls]);
        var app = await EndpointTestApp.StartAppAsync(kestrel, prefix, client, routes, configure, services);
        return new MinimalSessionApp(app, client, calls, kestrel);
    }

    /// <summary>A browser: its own cookie jar, no automatic redirects.</summary>
    public TestBrowser NewBrowser() => new(NewHttpClient());

    /// <summary>Gives <paramref name="to"/> the cookies of <paramref name="from"/> other than the session's (its sign-in).</summary>
    public void CopySignIn(TestBrowser from, TestBrowser to)
    {
        var origin = _kestrel ? new Uri(_app.Urls.Single()) : _app.GetTestServer().BaseAddress;
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

    private HttpClient NewHttpClient() => _kestrel
        ? new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(_app.Urls.Single()), Timeout = TimeSpan.FromSeconds(30) }
        : _app.GetTestClient();
}
