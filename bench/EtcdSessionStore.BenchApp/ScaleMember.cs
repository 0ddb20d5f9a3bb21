using System.Diagnostics.Metrics;
using System.Globalization;
using dotnet_etcd;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// One throwaway etcd member (fsync on) with a store on it (options from configuration, as the app would bind
/// them, in a started app so that any background service of the store runs), a raw client for the bulk fill and etcd's own figures, the numbered sessions written there, and a
/// listener on this store's near-cache instruments only. The app also serves the benchmark app's <c>/read</c> and
/// <c>/write</c> through <c>UseEtcdSession</c> on Kestrel (127.0.0.1, a free port), the path where the near cache answers.
/// </summary>
internal sealed class ScaleMember : IAsyncDisposable
{
    public const string Prefix = "scale/";

    /// <summary>Where the sessions are (the store also writes other keys under its prefix, e.g. the near cache's heartbeats).</summary>
    public const string SessionsPrefix = Prefix + "s/";

    /// <summary>etcd's backend quota for the benchmark's members: 8 GiB instead of the default 2 GiB, so a million sessions and their history fit.</summary>
    public const long QuotaBytes = 8L * 1024 * 1024 * 1024;

    /// <summary>
    /// The Data Protection purpose of the store's session token (docs/configuration.md): a token for a session the
    /// bulk fill wrote is its secret protected with it, which is what the store hands out itself.
    /// </summary>
    private const string TokenPurpose = "Etcd.AspNetCore.Session.Cookie.v1";

    private readonly IDisposable _guard;
    private readonly WebApplication _app;
    private readonly IDataProtector _tokens;
    private readonly string _cookieName;

    private ScaleMember(EtcdMember etcd, WebApplication app, TimeSpan idle, int fillConcurrency)
    {
        Etcd = etcd;
        _guard = ChildProcess.KillOnExit(etcd.ProcessId);
        _app = app;
        Store = app.Services.GetRequiredService<ISessionStore>();
        NearCache = new NearCacheListener(app.Services.GetRequiredService<IMeterFactory>());
        Raw = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        Fill = new BulkSessionFill(Raw, Prefix, idle, fillConcurrency);
        Address = new Uri(app.Urls.Single());
        _tokens = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(TokenPurpose);
        _cookieName = app.Services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.Cookie.Name!;
    }

    /// <summary>Where the app serves <c>/read</c> and <c>/write</c>.</summary>
    public Uri Address { get; }

    /// <summary>The <c>Cookie</c> header a browser holding the session of <paramref name="secret"/> sends.</summary>
    public string CookieFor(string secret) => $"{_cookieName}={_tokens.Protect(secret)}";

    public EtcdMember Etcd { get; }

    public EtcdClient Raw { get; }

    public ISessionStore Store { get; }

    public NearCacheListener NearCache { get; }

    public BulkSessionFill Fill { get; }

    public SessionSecrets Secrets { get; } = new();

    /// <param name="settings">Extra store options, as configuration keys (<c>EtcdSession:NearCache:SizeLimit</c>, ...).</param>
    public static async Task<ScaleMember> StartAsync(TimeSpan idle, int fillConcurrency, IReadOnlyDictionary<string, string> settings)
    {
        var etcd = await EtcdMember.StartSingleAsync("bench", ["--quota-backend-bytes", QuotaBytes.ToString(CultureInfo.InvariantCulture)], fsync: true);
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [BenchServer.SettingsSection + ":KeyPrefix"] = Prefix,
            [BenchServer.SettingsSection + ":IdleTimeout"] = idle.ToString("c", CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        BenchServer.TryConfigure(builder, "etcd", etcd.ClientUrl, redisEndpoint: "", values);
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>(); // Ctrl+C and SIGTERM end the benchmark, not just this host
        var app = builder.Build();
        BenchServer.MapEndpoints(app, "etcd");
        await app.StartAsync();
        return new ScaleMember(etcd, app, idle, fillConcurrency);
    }

    public async ValueTask DisposeAsync()
    {
        NearCache.Dispose();
        Raw.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _guard.Dispose();
        await Etcd.DisposeAsync();
    }

    /// <summary>A host lifetime that ignores console signals: the benchmark's own handlers stop it and its child processes.</summary>
    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
