using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The app under test, the same for every side: <c>GET /seed</c> creates a session, <c>GET /read</c> reads two
/// session values, <c>POST /write</c> changes one. The session is loaded asynchronously before the endpoint
/// runs: by <c>UseEtcdSession</c> itself, and for the stock session by a middleware that awaits
/// <c>LoadAsync</c> (its documented practice). This store's options come from configuration (section
/// <c>EtcdSession</c>), so a run can set options (<c>--EtcdSession:NearCache:Enabled false</c>) that this build of
/// the library may not know yet; unknown keys are ignored. In <c>serve</c> mode, <c>GET /bench/stats</c> answers
/// the near cache's counters and gauges (<see cref="NearCacheSnapshot"/>).
/// </summary>
internal static class BenchServer
{
    public const string UserKey = "user";
    public const string CountKey = "count";
    public const string ProfileKey = "profile";

    /// <summary>The configuration section this store's options are bound from.</summary>
    public const string SettingsSection = "EtcdSession";

    /// <summary>The serve mode's near-cache statistics endpoint.</summary>
    public const string StatsPath = "/bench/stats";

    public static async Task<int> RunAsync(BenchArguments args)
    {
        var mode = args.String("mode", "etcd");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{args.Int("port", 5080)}");
        var settings = args.WithPrefix(SettingsSection + ":");
        if (!TryConfigure(builder, mode, args.String("etcd", "http://127.0.0.1:2379"), args.String("redis", "127.0.0.1:6379"), settings))
        {
            Console.Error.WriteLine($"--mode must be etcd, redis or memory, not '{mode}'.");
            return 2;
        }

        var app = builder.Build();
        using var nearCache = new NearCacheListener(app.Services.GetRequiredService<IMeterFactory>());
        app.MapGet(StatsPath, () => nearCache.Snapshot());
        MapEndpoints(app, mode);
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// Registers the session of one side: <c>etcd</c> (this store), <c>redis</c> or <c>memory</c> (stock).
    /// <paramref name="etcdSettings"/> (full keys, <c>EtcdSession:...</c>) are added to this store's configuration.
    /// </summary>
    public static bool TryConfigure(WebApplicationBuilder builder, string mode, string etcdEndpoints, string redisEndpoint,
        IReadOnlyDictionary<string, string>? etcdSettings = null)
    {
        builder.Logging.ClearProviders();
        if (mode != "etcd")
        {
            builder.Services.AddSession();
        }

        switch (mode)
        {
            case "etcd":
                var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
                {
                    [SettingsSection + ":Endpoints"] = etcdEndpoints,
                    [SettingsSection + ":KeyPrefix"] = "bench/",
                };
                foreach (var (key, value) in etcdSettings ?? new Dictionary<string, string>())
                {
                    settings[key] = value;
                }

                builder.Configuration.AddInMemoryCollection(settings);
                builder.Services.AddEtcdSession(builder.Configuration.GetSection(SettingsSection));
                return true;
            case "redis":
                builder.Services.AddStackExchangeRedisCache(o =>
                {
                    o.Configuration = redisEndpoint;
                    o.InstanceName = "bench/";
                });
                return true;
            case "memory":
                builder.Services.AddDistributedMemoryCache();
                return true;
            default:
                return false;
        }
    }

    /// <summary>The session middleware, the asynchronous load before the endpoint, and the endpoints.</summary>
    public static void MapEndpoints(WebApplication app, string mode)
    {
        if (mode == "etcd")
        {
            app.UseEtcdSession();
        }
        else
        {
            app.UseSession();
            app.Use(async (context, next) =>
            {
                await context.Session.LoadAsync(context.RequestAborted);
                await next(context);
            });
        }

        app.MapGet("/health", () => "ok");
        app.MapGet("/seed", (HttpContext context) =>
        {
            context.Session.SetString(UserKey, "user-" + Guid.NewGuid().ToString("N")[..8]);
            context.Session.SetInt32(CountKey, 0);
            context.Session.SetString(ProfileKey, new string('p', 200)); // a realistic few hundred bytes per session
            return "seeded";
        });
        app.MapGet("/read", (HttpContext context) =>
            $"{context.Session.GetString(UserKey)}:{context.Session.GetInt32(CountKey)}");
        app.MapPost("/write", (HttpContext context) =>
        {
            var count = (context.Session.GetInt32(CountKey) ?? 0) + 1;
            context.Session.SetInt32(CountKey, count);
            return count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
    }
}
