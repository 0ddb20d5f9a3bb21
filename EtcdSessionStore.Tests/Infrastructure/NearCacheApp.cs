using System.Diagnostics.Metrics;
using System.Net;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// One app instance on real Kestrel (127.0.0.1, a free port) with the near cache, over the etcd at the given endpoints.
/// Instances made with the same prefix and <see cref="DataProtection"/> share sessions and cookies. Endpoints:
/// <c>GET /get?k=</c> (the value, or 404), <c>POST /set?k=&amp;v=</c>, <c>POST /destroy</c>, <c>POST /regenerate</c>, <c>GET /health</c>.
/// </summary>
public sealed class NearCacheApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly MeterListener _listener = new();
    private long _hits;
    private long _misses;
    private long _bypasses;

    private NearCacheApp(WebApplication app, string url)
    {
        _app = app;
        Url = url;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "etcd.session.near_cache.lookups" && instrument.Meter.Scope == app.Services.GetRequiredService<IMeterFactory>())
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "result" && tag.Value is "hit")
                {
                    Interlocked.Add(ref _hits, value);
                }
                else if (tag.Key == "result" && tag.Value is "miss")
                {
                    Interlocked.Add(ref _misses, value);
                }
                else if (tag.Key == "result")
                {
                    Interlocked.Add(ref _bypasses, value);
                    BypassTimes.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
                }
            }
        });
        _listener.Start();
    }

    /// <summary>One key ring for every instance of a test: what a shared, persisted key ring gives in production.</summary>
    public static IDataProtectionProvider NewKeyRing() => new EphemeralDataProtectionProvider();

    public string Url { get; }

    public IServiceProvider Services => _app.Services;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Bypasses => Interlocked.Read(ref _bypasses);

    /// <summary>When each bypass happened (<see cref="System.Diagnostics.Stopwatch"/> timestamps), as the lookup made it.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<long> BypassTimes { get; } = new();

    public static async Task<NearCacheApp> StartAsync(string endpoints, string prefix, IDataProtectionProvider keyRing,
        TimeSpan? maxStaleness = null, Interceptor? watchInterceptor = null, Action<EtcdSessionOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(keyRing);
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = endpoints;
            o.KeyPrefix = prefix;
            o.IOTimeout = TimeSpan.FromSeconds(2);
            o.NearCache.MaxStaleness = maxStaleness ?? TimeSpan.FromSeconds(1);
            o.StreamInterceptors = watchInterceptor is null ? [] : [watchInterceptor];
            configure?.Invoke(o);
        });
        builder.Services.AddHealthChecks().AddEtcdSession();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseEtcdSession();
        app.MapGet("/get", (HttpContext c, string k) => c.Session.GetString(k) is { } v ? Results.Text(v) : Results.NotFound());
        app.MapPost("/set", (HttpContext c, string k, string v) =>
        {
            c.Session.SetString(k, v);
            return Results.Ok();
        });
        app.MapPost("/destroy", (HttpContext c) =>
        {
            c.Session.Clear();
            return Results.Ok();
        });
        app.MapPost("/regenerate", async (HttpContext c) =>
        {
            await c.Session.RegenerateIdAsync(c.RequestAborted);
            return Results.Ok();
        });
        app.MapHealthChecks("/health");
        await app.StartAsync();
        return new NearCacheApp(app, app.Urls.Single());
    }

    /// <summary>Waits until the cache has proven it is fresh (its first heartbeat came back through the watch).</summary>
    public async Task WaitUntilFreshAsync(TimeSpan timeout)
    {
        var cache = _app.Services.GetRequiredService<global::Etcd.AspNetCore.Session.NearCache.NearCacheInstance>().Cache!;
        if (!await Eventually.TrueAsync(() => cache.Freshness.IsFresh, timeout, TimeSpan.FromMilliseconds(10)))
        {
            throw new TimeoutException($"The near cache was not fresh within {timeout}.");
        }
    }

    internal global::Etcd.AspNetCore.Session.NearCache.SessionCache Cache => _app.Services.GetRequiredService<global::Etcd.AspNetCore.Session.NearCache.NearCacheInstance>().Cache!;

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
