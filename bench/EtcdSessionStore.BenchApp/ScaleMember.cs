using System.Diagnostics.Metrics;
using System.Globalization;
using dotnet_etcd;
using Grpc.Core;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// One throwaway etcd member (fsync on) with a store on it (options from configuration, as the app would bind
/// them, in a started host so that any background service of the store runs), a raw client for the bulk fill and etcd's own figures, the numbered sessions written there, and a
/// listener on this store's near-cache instruments only.
/// </summary>
internal sealed class ScaleMember : IAsyncDisposable
{
    public const string Prefix = "scale/";

    /// <summary>Where the sessions are (the store also writes other keys under its prefix, e.g. the near cache's heartbeats).</summary>
    public const string SessionsPrefix = Prefix + "s/";

    /// <summary>etcd's backend quota for the benchmark's members: 8 GiB instead of the default 2 GiB, so a million sessions and their history fit.</summary>
    public const long QuotaBytes = 8L * 1024 * 1024 * 1024;

    private readonly IDisposable _guard;
    private readonly IHost _host;

    private ScaleMember(EtcdMember etcd, IHost host, TimeSpan idle, int fillConcurrency)
    {
        Etcd = etcd;
        _guard = ChildProcess.KillOnExit(etcd.ProcessId);
        _host = host;
        Store = host.Services.GetRequiredService<ISessionStore>();
        NearCache = new NearCacheListener(host.Services.GetRequiredService<IMeterFactory>());
        Raw = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        Fill = new BulkSessionFill(Raw, Prefix, idle, fillConcurrency);
    }

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
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            [BenchServer.SettingsSection + ":Endpoints"] = etcd.ClientUrl,
            [BenchServer.SettingsSection + ":KeyPrefix"] = Prefix,
            [BenchServer.SettingsSection + ":IdleTimeout"] = idle.ToString("c", CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(values);
        builder.Services.AddEtcdSession(builder.Configuration.GetSection(BenchServer.SettingsSection));
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>(); // Ctrl+C and SIGTERM end the benchmark, not just this host
        var host = builder.Build();
        await host.StartAsync();
        return new ScaleMember(etcd, host, idle, fillConcurrency);
    }

    public async ValueTask DisposeAsync()
    {
        NearCache.Dispose();
        Raw.Dispose();
        await _host.StopAsync();
        _host.Dispose();
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
