using System.Net;
using System.Security.Claims;
using dotnet_etcd;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// The test host: an app on TestServer or, with <c>kestrel: true</c>, on real Kestrel (127.0.0.1, a free port), talking
/// to the shared etcd under its own prefix through a client whose calls are counted (and can be made to fail). Two apps:
/// <see cref="StartAsync"/> starts the session app below, <see cref="StartTicketAppAsync"/> the ticket app
/// (<c>SessionTestServer.Tickets.cs</c>).
/// </summary>
/// <remarks>
/// The session app: <c>app.UseEtcdSession()</c> behind cookie authentication. Routes: GET /get?key=, POST
/// /set?key=&amp;value= (no body), POST /set-text (sets, then returns a string), POST /set-streaming (sets, then writes
/// and flushes the body), POST /stream-then-set (writes and flushes the body, then sets), POST
/// /set-flush-set?key=&amp;value=&amp;then=&amp;thenValue= (sets, writes and flushes the body, then sets again), POST
/// /set-commit-signin?key=&amp;value=&amp;user= (sets, commits, then signs in), POST /set-then-throw, POST /regenerate,
/// POST /destroy, POST /signin, POST /signout.
/// </remarks>
public sealed partial class SessionTestServer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly EtcdClient _client;
    private readonly Hooks _hooks;
    private readonly string? _kestrelUrl;

    private SessionTestServer(IHost host, EtcdClient client, string prefix, EtcdCallInterceptor calls, CapturingLoggerProvider logs, Hooks hooks, string? kestrelUrl)
    {
        _kestrelUrl = kestrelUrl;
        _hooks = hooks;
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

    /// <summary>Runs inside the /set, /set-flush-set and /set-commit-signin endpoints after the session was loaded and before it is written.</summary>
    public Func<Task>? DuringSet
    {
        get => _hooks.DuringSet;
        set => _hooks.DuringSet = value;
    }

    /// <summary>Runs inside the /regenerate endpoint after the session was loaded and before its key is rotated.</summary>
    public Func<Task>? BeforeRegenerate
    {
        get => _hooks.BeforeRegenerate;
        set => _hooks.BeforeRegenerate = value;
    }

    /// <summary>Starts the session app.</summary>
    public static Task<SessionTestServer> StartAsync(Action<EtcdSessionOptions>? configure = null, string? endpoints = null, TimeProvider? time = null,
        bool kestrel = false, string? prefix = null, Action<IServiceCollection>? services = null) =>
        StartHostAsync(new HostedApp(
                collection =>
                {
                    collection.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                    services?.Invoke(collection);
                },
                WithSessions: true,
                HandleAsync),
            configure, endpoints, time, kestrel, prefix);

    private static async Task<SessionTestServer> StartHostAsync(HostedApp app, Action<EtcdSessionOptions>? configure, string? endpoints, TimeProvider? time,
        bool kestrel, string? prefix)
    {
        // Servers started on one given prefix are instances of one app: they share a key ring and read each other's cookies.
        var dataProtection = prefix is null ? new EphemeralDataProtectionProvider() : SharedDataProtection;
        prefix ??= EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        var calls = new EtcdCallInterceptor();
        var logs = new CapturingLoggerProvider();
        var hooks = new Hooks();
        endpoints ??= EtcdFixture.Endpoints;
        var client = EtcdTestClient.Create(endpoints, calls);
        var host = new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .ConfigureWebHost(web => (kestrel ? web.UseKestrel().UseUrls("http://127.0.0.1:0") : web.UseTestServer())
                .ConfigureServices(collection =>
                {
                    AddTestStore(collection, endpoints, prefix, client, time ?? TimeProvider.System, configure, dataProtection);
                    app.Services(collection);
                })
                .Configure(builder =>
                {
                    builder.UseAuthentication();
                    if (app.WithSessions)
                    {
                        builder.UseEtcdSession();
                    }

                    builder.Run(context => app.HandleAsync(context, hooks));
                }))
            .Build();
        await host.StartAsync();
        var url = kestrel
            ? host.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
                .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.Single()
            : null;
        return new SessionTestServer(host, client, prefix, calls, logs, hooks, url);
    }

    /// <summary>What makes one app of the family: its services besides the store, whether <c>UseEtcdSession()</c> runs, and its routes.</summary>
    private sealed record HostedApp(Action<IServiceCollection> Services, bool WithSessions, Func<HttpContext, Hooks, Task> HandleAsync);

    /// <summary>The key ring of servers started on a given prefix.</summary>
    private static readonly IDataProtectionProvider SharedDataProtection = new EphemeralDataProtectionProvider();

    /// <summary>The base URL on Kestrel (<see langword="null"/> on TestServer).</summary>
    public string? Url => _kestrelUrl;

    /// <summary>A browser: keeps the cookies this server sets.</summary>
    public TestBrowser NewBrowser(string? baseAddress = null)
    {
        var http = NewClient();
        if (baseAddress is not null)
        {
            http.BaseAddress = new Uri(baseAddress);
        }

        return new TestBrowser(http);
    }

    /// <summary>A bare HTTP client: no cookies kept, for clients that carry the session in a header.</summary>
    public HttpClient NewClient() => _kestrelUrl is null
        ? _host.GetTestClient()
        : Browsers.Bare(_kestrelUrl);

    /// <summary>A cookie value that carries <paramref name="secret"/>, protected as the middleware protects it.</summary>
    internal string ProtectedCookieFor(string secret) => Services.GetRequiredService<global::Etcd.AspNetCore.Session.AspNetCore.SessionCookie>().Protect(secret);

    public string StorageKeyOf(string secret) => SessionKeys.StorageKey(Prefix, secret);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _client.Dispose();
    }

    /// <summary>
    /// The store under <paramref name="prefix"/> of the shared etcd, its calls made through <paramref name="client"/>
    /// on <paramref name="time"/>, with an IOTimeout of 2 s and an ephemeral key ring.
    /// </summary>
    internal static void AddTestStore(IServiceCollection services, string endpoints, string prefix, EtcdClient client, TimeProvider time,
        Action<EtcdSessionOptions>? configure, IDataProtectionProvider? dataProtection = null)
    {
        services.AddEtcdSession(o =>
        {
            o.Endpoints = endpoints;
            o.KeyPrefix = prefix;
            o.IOTimeout = TimeSpan.FromSeconds(2);
            configure?.Invoke(o);
        });
        services.AddSingleton(dataProtection ?? new EphemeralDataProtectionProvider());
        services.Replace(ServiceDescriptor.Singleton(time));
        services.Replace(ServiceDescriptor.Singleton(sp => new EtcdGateway(client,
            sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.IOTimeout, sp.GetRequiredService<ILogger<EtcdGateway>>())));
    }

    private static async Task HandleAsync(HttpContext context, Hooks hooks)
    {
        var session = context.Session;
        var query = context.Request.Query;
        switch (context.Request.Path.Value)
        {
            case "/get":
                context.Response.Headers["X-Session-Available"] = session.IsAvailable ? "true" : "false";
                await context.Response.WriteAsync(session.GetString(query["key"]!) ?? "");
                break;
            case "/set":
                if (hooks.DuringSet is { } during)
                {
                    await during();
                }

                session.SetString(query["key"]!, query["value"]!);
                break;
            case "/set-text":
                session.SetString(query["key"]!, query["value"]!);
                await context.Response.WriteAsync("ok");
                break;
            case "/set-streaming":
                session.SetString(query["key"]!, query["value"]!);
                await context.Response.WriteAsync("streamed");
                await context.Response.Body.FlushAsync();
                break;
            case "/stream-then-set":
                await context.Response.WriteAsync("streamed");
                await context.Response.Body.FlushAsync();
                session.SetString(query["key"]!, query["value"]!);
                break;
            case "/set-flush-set":
                if (hooks.DuringSet is { } beforeFirst)
                {
                    await beforeFirst();
                }

                session.SetString(query["key"]!, query["value"]!);
                await context.Response.WriteAsync("streamed");
                await context.Response.Body.FlushAsync();
                session.SetString(query["then"]!, query["thenValue"]!);
                break;
            case "/set-commit-signin":
                if (hooks.DuringSet is { } beforeCommit)
                {
                    await beforeCommit();
                }

                session.SetString(query["key"]!, query["value"]!);
                await session.CommitAsync();
                await SignInAsync(context);
                break;
            case "/stream-then-try-set":
                await context.Response.WriteAsync("streamed");
                await context.Response.Body.FlushAsync();
                try
                {
                    session.SetString(query["key"]!, query["value"]!);
                    await context.Response.WriteAsync(";written");
                }
                catch (InvalidOperationException)
                {
                    await context.Response.WriteAsync(";refused");
                }

                break;
            case "/set-then-throw":
                session.SetString(query["key"]!, query["value"]!);
                throw new InvalidOperationException("The endpoint failed after changing the session.");
            case "/try-set":
                try
                {
                    session.SetString("k", "v");
                    await context.Response.WriteAsync("written");
                }
                catch (InvalidOperationException)
                {
                    await context.Response.WriteAsync("refused");
                }

                break;
            case "/regenerate":
                if (hooks.BeforeRegenerate is { } beforeRegenerate)
                {
                    await beforeRegenerate();
                }

                await session.RegenerateIdAsync();
                break;
            case "/destroy":
                await session.DestroyAsync();
                break;
            case "/signin":
                await SignInAsync(context);
                break;
            case "/signout":
                await context.SignOutAsync();
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    private static Task SignInAsync(HttpContext context)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, context.Request.Query["user"].ToString() ?? "someone")], CookieAuthenticationDefaults.AuthenticationScheme);
        return context.SignInAsync(new ClaimsPrincipal(identity));
    }
}

internal sealed class Hooks
{
    public Func<Task>? DuringSet { get; set; }

    public Func<Task>? BeforeRegenerate { get; set; }
}

/// <summary>An HTTP client that keeps cookies across requests, as a browser does.</summary>
public sealed class TestBrowser
{
    private readonly HttpClient _http;

    public TestBrowser(HttpClient http)
    {
        _http = http;
    }

    public CookieContainer Cookies { get; } = new();

    public string? SessionCookie => Cookie(EtcdSessionDefaults.CookieName);

    /// <summary>The value of the cookie <paramref name="name"/> this browser keeps for the server, or <see langword="null"/>.</summary>
    public string? Cookie(string name) => Cookies.GetCookies(_http.BaseAddress!)[name]?.Value;

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<HttpResponseMessage> PostAsync(string path) => SendAsync(HttpMethod.Post, path);

    public async Task<string> GetStringAsync(string path)
    {
        using var response = await GetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }

    public void SetSessionCookie(string value) =>
        Cookies.Add(_http.BaseAddress!, new Cookie(EtcdSessionDefaults.CookieName, value));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        var header = Cookies.GetCookieHeader(_http.BaseAddress!);
        if (header.Length > 0)
        {
            request.Headers.Add("Cookie", header);
        }

        var response = await _http.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                Cookies.SetCookies(_http.BaseAddress!, setCookie);
            }
        }

        return response;
    }
}
