using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Claims;
using System.Text.Json;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>
/// One app instance of the history test: Kestrel on a port of its own on 127.0.0.1 (so it can be stopped and
/// started again there), <c>UseEtcdSession</c> with the near cache, cookie authentication, and one endpoint per
/// <see cref="OperationKind"/>. Its etcd calls go through <see cref="EtcdCallInterceptor"/> (to drop a reply) and
/// its watch through an interceptor that can hold it back; both outlive a restart. What the handler saw of each
/// request (by its <c>X-Op</c> header) goes to the shared <see cref="ServerNote"/>s.
/// </summary>
internal sealed class HistoryApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HistoryApp(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public SessionCodec Codec => _app.Services.GetRequiredService<SessionCodec>();

    public static async Task<HistoryApp> StartAsync(int port, string endpoints, string prefix, IDataProtectionProvider keyRing, TimeSpan maxStaleness,
        Interceptor calls, Interceptor watch, ConcurrentDictionary<int, ServerNote> notes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{port}").UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(keyRing);
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        var ioTimeout = TimeSpan.FromSeconds(2);
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = endpoints;
            o.KeyPrefix = prefix;
            o.IOTimeout = ioTimeout;
            o.NearCache.MaxStaleness = maxStaleness;
            o.CallInterceptors = [calls];
            o.StreamInterceptors = [watch];
        });
        var app = builder.Build();
        app.UseAuthentication();
        app.UseEtcdSession();
        app.Run(context => HandleAsync(context, notes));

        // The port may still be held for a moment by the instance that was stopped there.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await app.StartAsync();
                return new HistoryApp(app, $"http://127.0.0.1:{port}");
            }
            catch (IOException ex) when (attempt < 20 && ex.InnerException is SocketException or null)
            {
                await Task.Delay(250);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    private static async Task HandleAsync(HttpContext context, ConcurrentDictionary<int, ServerNote> notes)
    {
        var session = context.Session;
        var ct = context.RequestAborted;
        await session.LoadAsync(ct);
        if (!session.IsAvailable)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        var ours = EtcdSessionExtensions.Ours(session);
        var note = new ServerNote(ours.Id, ours.IsStored ? SessionKeys.Hash(ours.SessionKey) : null);
        if (int.TryParse(context.Request.Headers["X-Op"], out var op))
        {
            notes[op] = note;
        }

        // After the middleware's commit: the session the request's changes went to.
        context.Response.OnCompleted(() =>
        {
            note.CommittedSessionId = ours.IsAvailable ? ours.Id : null;
            return Task.CompletedTask;
        });

        try
        {
            await RunAsync(context, session, ct);
        }
        catch (Exception ex)
        {
            note.Error = $"{ex.GetType().Name}: {ex.Message}";
            throw;
        }
    }

    private static async Task RunAsync(HttpContext context, ISession session, CancellationToken ct)
    {
        var query = context.Request.Query;
        switch (context.Request.Path.Value)
        {
            case "/set":
                session.SetString(query["k"]!, query["v"]!);
                break;
            case "/set-twice":
                session.SetString(query["k"]!, query["v"]!);
                await session.CommitAsync(ct);
                session.SetString(query["k2"]!, query["v2"]!);
                break;
            case "/set-after-body":
                await context.Response.WriteAsync("streamed", ct);
                await context.Response.Body.FlushAsync(ct);
                session.SetString(query["k"]!, query["v"]!);
                break;
            case "/remove":
                session.Remove(query["k"]!);
                break;
            case "/read":
                var items = session.Keys.ToDictionary(k => k, k => session.GetString(k) ?? "", StringComparer.Ordinal);
                await context.Response.WriteAsync(JsonSerializer.Serialize(items), ct);
                break;
            case "/rotate":
                await session.RegenerateIdAsync(ct);
                break;
            case "/destroy":
                await session.DestroyAsync(ct);
                break;
            case "/sign-in":
                var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, query["user"].ToString())], CookieAuthenticationDefaults.AuthenticationScheme);
                await context.SignInAsync(new ClaimsPrincipal(identity));
                break;
            case "/sign-out":
                await context.SignOutAsync();
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }
}

/// <summary>What the handler saw of one request: the session it loaded, and the key it opened it with (a hash).</summary>
internal sealed class ServerNote(string sessionId, string? openedKey)
{
    public string SessionId { get; } = sessionId;

    public string? OpenedKey { get; } = openedKey;

    /// <summary>The session after the request's commit, once the response completed.</summary>
    public string? CommittedSessionId { get; set; }

    /// <summary>The exception the handler ended with, if any (for the run's report).</summary>
    public string? Error { get; set; }
}
