using System.Security.Claims;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// The ticket app: cookie authentication with <c>.StoreTicketsInEtcd()</c>, with <c>UseEtcdSession()</c> unless asked
/// not to. Routes: POST /signin?user=, POST /signout, GET /me (the user's name or "anonymous"; header X-Session-Id with
/// the session's public id when there is a session).
/// </summary>
public sealed partial class SessionTestServer
{
    /// <summary>A claim too large for a cookie to carry comfortably: it must stay in etcd.</summary>
    public static readonly string LargeClaim = new('x', 3000);

    /// <summary>Starts the ticket app.</summary>
    /// <param name="expireTimeSpan">The cookie scheme's ticket lifetime (sliding).</param>
    /// <param name="withSessions">Put <c>UseEtcdSession()</c> in the pipeline.</param>
    /// <param name="storeTime">The clock of the store (leases, deadlines); the system clock when null.</param>
    /// <param name="authenticationTime">The clock of the cookie handler (issue, expiry, sliding renewal); the system clock when null.</param>
    /// <param name="configure">More session store options.</param>
    /// <param name="kestrel">On real Kestrel rather than TestServer.</param>
    public static Task<SessionTestServer> StartTicketAppAsync(TimeSpan? expireTimeSpan = null, bool withSessions = true, TimeProvider? storeTime = null,
        TimeProvider? authenticationTime = null, Action<EtcdSessionOptions>? configure = null, bool kestrel = false) =>
        StartHostAsync(new HostedApp(
                services => services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
                    .AddCookie(o =>
                    {
                        o.ExpireTimeSpan = expireTimeSpan ?? TimeSpan.FromHours(1);
                        o.SlidingExpiration = true;
                        o.TimeProvider = authenticationTime ?? TimeProvider.System;
                    })
                    .StoreTicketsInEtcd(),
                withSessions,
                (context, _) => HandleTicketRequestAsync(context)),
            configure, endpoints: null, storeTime, kestrel, prefix: null);

    public EtcdSessionDirectory Directory => Services.GetRequiredService<EtcdSessionDirectory>();

    /// <summary>Every ticket this app has in etcd.</summary>
    public Task<IReadOnlyList<KeyValue>> TicketsAsync() => RangeAsync(Prefix + "t/");

    /// <summary>Every ticket index entry of this app in etcd.</summary>
    public Task<IReadOnlyList<KeyValue>> TicketEntriesAsync() => RangeAsync(Prefix + "ut/");

    /// <summary>The ticket store of the cookie scheme.</summary>
    public ITicketStore TicketStore => CookieOptions.SessionStore!;

    /// <summary>The cookie handler's view of a sign-in cookie: what the cookie itself carries.</summary>
    public AuthenticationTicket? UnprotectCookie(string cookie) => CookieOptions.TicketDataFormat.Unprotect(cookie);

    private CookieAuthenticationOptions CookieOptions =>
        Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);

    private static async Task<IReadOnlyList<KeyValue>> RangeAsync(string prefix) => (await EtcdFixture.Client.GetAsync(KeyRange.Prefix(prefix))).Kvs;

    private static async Task HandleTicketRequestAsync(HttpContext context)
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
