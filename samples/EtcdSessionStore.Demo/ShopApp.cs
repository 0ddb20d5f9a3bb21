using System.Security.Claims;
using System.Text.Json;
using Etcd.AspNetCore.Session;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;

namespace EtcdSessionStore.Demo;

/// <summary>
/// A small shop: sign in, put items in a cart kept in the etcd session, sign out. Several instances share one etcd
/// (sessions and the Data Protection key ring), so a client can hop between them.
/// </summary>
public static class ShopApp
{
    private const string CartKey = "cart";
    private const int MaxCartItems = 50;
    private const int MaxTextLength = 64;

    // The stylesheet is compiled in (an embedded resource): the shop serves it itself, wherever it runs from.
    private static readonly Lazy<string> Stylesheet = new(() =>
    {
        using var css = new StreamReader(typeof(ShopApp).Assembly.GetManifestResourceStream("demo.css")!);
        return css.ReadToEnd();
    });

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();

        // [quick-start-services]
        builder.Services.AddEtcdSession(builder.Configuration.GetSection("EtcdSession"));
        // [data-protection]
        builder.Services.AddDataProtection()
            .SetApplicationName("EtcdSessionStore.Demo")
            .PersistKeysToEtcd();
        // [/data-protection]
        // [store-tickets-in-etcd]
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o => o.Cookie.Name = ".Shop.Auth")
            .StoreTicketsInEtcd();
        // [/store-tickets-in-etcd]
        // [/quick-start-services]
        // The store's health check, traces and metrics (package EtcdSessionStore.Aspire) and, under an Aspire app host
        // (samples/EtcdSessionStore.AppHost), the endpoints from its connection string "etcd".
        // [aspire-enrich]
        builder.EnrichEtcdSession("etcd");
        // [/aspire-enrich]
        builder.Services.AddSingleton<SessionEventRing>();
        builder.Services.AddHostedService<SessionEventLog>();
        builder.Services.AddSingleton<DemoInstance>();

        var app = builder.Build();

        // [quick-start-pipeline]
        app.UseAuthentication();
        app.UseEtcdSession();
        // [/quick-start-pipeline]

        // Every route behind one filter: a form body the shop cannot read or use gets 400, never a 500.
        MapRoutes(app.MapGroup("").AddEndpointFilter(ShopForms.RejectMalformedAsync));
        return app;
    }

    private static void MapRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => Html(ShopPages.Home(PageFrame.Of(context), ReadCart(context.Session))));

        app.MapGet("/session", (HttpContext context) => Html(ShopPages.Session(PageFrame.Of(context))));

        // The last session events this instance saw, from every instance (newest first): what the pages' event log
        // shows, for scripts and for a page that refreshes its log in place.
        app.MapGet("/events", (SessionEventRing ring) => Results.Json(ring.Latest().Select(e => new
        {
            kind = e.Kind.ToString(),
            sessionId = e.SessionId,
            user = e.UserName,
            revision = e.Revision,
            observedAt = e.ObservedAt,
        }))).WithoutSessionRefresh(); // a script polling the log does not keep an abandoned session alive

        // [poll-without-refresh]
        app.MapGet("/events/log", (HttpContext context) => Results.Content(ShopPages.EventLogFragment(PageFrame.Of(context)), "text/html; charset=utf-8"))
            .WithoutSessionRefresh(); // the pages poll it: reading the session here never extends it
        // [/poll-without-refresh]

        app.MapGet("/demo.css", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Stylesheet.Value, "text/css; charset=utf-8");
        });

        ActiveSessions.Map(app);

        app.MapHealthChecks("/health/etcd"); // etcd reachability and latency: Healthy, Degraded or Unhealthy

        app.MapGet("/health", () => Results.Text("ok"));

        app.MapGet("/cart", (HttpContext context) => Results.Json(ReadCart(context.Session)));

        // The POST routes take plain form posts (or no body) so they can be scripted with curl: no antiforgery
        // token. The session and sign-in cookies are SameSite=Lax, so browsers do not send them on cross-site POSTs.
        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await ShopForms.ReadAsync(context.Request);
            var user = form["user"].ToString().Trim();
            if (user.Length is 0 or > MaxTextLength)
            {
                return Results.Problem($"Form field 'user' must be 1 to {MaxTextLength} characters.", statusCode: StatusCodes.Status400BadRequest);
            }

            // [sign-in]
            if (form["remember"] == "on")
            {
                context.Session.SetIdleTimeout(TimeSpan.FromDays(14)); // "remember me": this session only
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], CookieAuthenticationDefaults.AuthenticationScheme);
            await context.SignInAsync(new ClaimsPrincipal(identity)); // moves the session to a new key (RegenerateIdOnSignIn)
            // [/sign-in]
            return Done(form, new { user });
        });

        app.MapPost("/cart", async (HttpContext context) =>
        {
            var form = await ShopForms.ReadAsync(context.Request);
            var item = form["item"].ToString().Trim();
            var cart = ReadCart(context.Session);
            if (item.Length is 0 or > MaxTextLength || cart.Count >= MaxCartItems)
            {
                return Results.Problem($"Form field 'item' must be 1 to {MaxTextLength} characters, and a cart holds at most {MaxCartItems} items.",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            // [session-write]
            cart.Add(item);
            context.Session.SetString(CartKey, JsonSerializer.Serialize(cart));
            // [/session-write]
            return Done(form, cart);
        });

        app.MapPost("/logout", async (HttpContext context) =>
        {
            var form = await ShopForms.ReadAsync(context.Request);
            // [sign-out]
            await context.SignOutAsync(); // destroys the session (DestroyOnSignOut)
            // [/sign-out]
            return Done(form, new { signedOut = true });
        });
    }

    // [session-read]
    private static List<string> ReadCart(ISession session) =>
        session.GetString(CartKey) is { } json ? JsonSerializer.Deserialize<List<string>>(json) ?? [] : [];
    // [/session-read]

    // HTML forms send return=<local path> and get redirected there; scripts get JSON.
    internal static IResult Done(IFormCollection form, object json) =>
        form["return"].ToString() is ['/', not '/' and not '\\', ..] or "/" ? Results.Redirect(form["return"].ToString()) : Results.Json(json);

    internal static IResult Html(string body) => Results.Content(body, "text/html; charset=utf-8");

}
