using System.Security.Claims;
using dotnet_etcd;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

/// <summary>
/// An app with cookie authentication and <c>.StoreTicketsInEtcd()</c> on TestServer, on the shared etcd under its
/// own prefix through a client whose calls are counted (and can be made to fail); with <c>UseEtcdSession()</c>
/// unless asked not to. Routes: POST /signin?user=, POST /signout, GET /me (the user's name or "anonymous";
/// header X-Session-Id with the session's public id when there is a session).
/// </summary>
public sealed class TicketTestServer : IAsyncDisposable
{
    /// <summary>A claim too large for a cookie to carry comfortably: it must stay in etcd.</summary>
    public static readonly string LargeClaim = new('x', 3000);

    private readonly IHost _host;
    private readonly EtcdClient _client;

    private TicketTestServer(IHost host, EtcdClient client, string prefix, EtcdCallInterceptor calls, CapturingLoggerProvider logs)
    {
        _host = host;
        _client = client;
        Prefix = prefix;
        Calls = calls;
        Logs = logs;
    }

    public string Prefix { get; }

    public EtcdCallInterceptor Calls { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _host.Services;

    public EtcdSessionDirectory Directory => Services.GetRequiredService<EtcdSessionDirectory>();

    /// <param name="expireTimeSpan">The cookie scheme's ticket lifetime (sliding).</param>
    /// <param name="withSessions">Put <c>UseEtcdSession()</c> in the pipeline.</param>
    /// <param name="storeTime">The clock of the store (leases, deadlines); the system clock when null.</param>
    /// <param name="authenticationTime">The clock of the cookie handler (issue, expiry, sliding renewal); the system clock when null.</param>
    /// <param name="configure">More session store options.</param>
    public static async Task<TicketTestServer> StartAsync(TimeSpan? expireTimeSpan = null, bool withSessions = true, TimeProvider? storeTime = null,
        TimeProvider? authenticationTime = null, Action<EtcdSessionOptions>? configure = null)
    {
        var prefix = EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        var calls = new EtcdCallInterceptor();
        var logs = new CapturingLoggerProvider();
        var endpoints = EtcdFixture.Endpoints;
        var client = EtcdTestClient.Create(endpoints, calls);
        var host = new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(services =>
                {
                    SessionTestServer.AddTestStore(services, endpoints, prefix, client, storeTime ?? TimeProvider.System, configure);
                    services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
                        .AddCookie(o =>
                        {
                            o.ExpireTimeSpan = expireTimeSpan ?? TimeSpan.FromHours(1);
                            o.SlidingExpiration = true;
                            o.TimeProvider = authenticationTime ?? TimeProvider.System;
                        })
                        .StoreTicketsInEtcd();
                })
                .Configure(app =>
                {
                    app.UseAuthentication();
                    if (withSessions)
                    {
                        app.UseEtcdSession();
                    }

                    app.Run(HandleAsync);
                }))
            .Build();
        await host.StartAsync();
        return new TicketTestServer(host, client, prefix, calls, logs);
    }

    /// <summary>A browser: keeps the cookies this server sets.</summary>
    public TestBrowser NewBrowser() => new(_host.GetTestClient());

    /// <summary>Every ticket this app has in etcd.</summary>
    public async Task<IReadOnlyList<KeyValue>> TicketsAsync() => await RangeAsync(Prefix + "t/");

    /// <summary>Every ticket index entry of this app in etcd.</summary>
    public async Task<IReadOnlyList<KeyValue>> TicketEntriesAsync() => await RangeAsync(Prefix + "ut/");

    /// <summary>The ticket store of the cookie scheme.</summary>
    public ITicketStore TicketStore =>
        Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme).SessionStore!;

    /// <summary>The cookie handler's view of a sign-in cookie: what the cookie itself carries.</summary>
    public AuthenticationTicket? UnprotectCookie(string cookie) =>
        Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme).TicketDataFormat.Unprotect(cookie);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _client.Dispose();
    }

    private static async Task<IReadOnlyList<KeyValue>> RangeAsync(string prefix)
    {
        var response = await EtcdFixture.Client.GetAsync(new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix),
            RangeEnd = ByteString.CopyFromUtf8(prefix[..^1] + (char)(prefix[^1] + 1)),
        });
        return response.Kvs;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        switch (context.Request.Path.Value)
        {
            case "/signin":
                var identity = new ClaimsIdentity(
                    [
                        new Claim(ClaimTypes.Name, context.Request.Query["user"].ToString()),
                        new Claim(ClaimTypes.Email, context.Request.Query["user"] + "@example.com"),
                        new Claim("large", LargeClaim),
                    ],
                    CookieAuthenticationDefaults.AuthenticationScheme);
                await context.SignInAsync(new ClaimsPrincipal(identity));
                break;
            case "/signout":
                await context.SignOutAsync();
                break;
            case "/me":
                if (context.Features.Get<Microsoft.AspNetCore.Http.Features.ISessionFeature>() is not null && context.Session.IsAvailable)
                {
                    context.Response.Headers["X-Session-Id"] = context.Session.Id;
                }

                await context.Response.WriteAsync(context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "anonymous");
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }
}
