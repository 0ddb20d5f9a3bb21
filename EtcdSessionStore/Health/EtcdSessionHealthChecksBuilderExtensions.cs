using Etcd.AspNetCore.Session.Health;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session;

/// <summary>Registers the store's health check.</summary>
public static class EtcdSessionHealthChecksBuilderExtensions
{
    /// <summary>The default name of the check: <c>etcd-session</c>.</summary>
    public const string DefaultName = "etcd-session";

    /// <summary>
    /// Adds a check that etcd answers a linearizable read under the store's key prefix within
    /// <see cref="EtcdSessionOptions.IOTimeout"/>: Healthy, Degraded when it took longer than
    /// <paramref name="degradedThreshold"/> (default 1 second), or <paramref name="failureStatus"/>
    /// (default Unhealthy) when it failed. Requires <c>AddEtcdSession</c>.
    /// </summary>
    public static IHealthChecksBuilder AddEtcdSession(
        this IHealthChecksBuilder builder,
        string name = DefaultName,
        TimeSpan? degradedThreshold = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var threshold = degradedThreshold ?? TimeSpan.FromSeconds(1);
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new EtcdSessionHealthCheck(sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.KeyPrefix, threshold,
                sp.GetRequiredService<NearCacheInstance>().Cache),
            failureStatus,
            tags));
    }
}
