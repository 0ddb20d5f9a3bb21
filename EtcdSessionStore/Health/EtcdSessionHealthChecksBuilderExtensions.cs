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
    public static readonly string DefaultName = "etcd-session";

    /// <summary>
    /// Adds a check that etcd answers a linearizable read under the store's key prefix within
    /// <see cref="EtcdSessionOptions.IOTimeout"/>: Healthy, Degraded when it took longer than
    /// <paramref name="degradedThreshold"/> (default 1 second), or <paramref name="failureStatus"/>
    /// (default Unhealthy) when it failed. Requires <c>AddEtcdSession</c>.
    /// </summary>
    /// <param name="builder">The app's health checks.</param>
    /// <param name="name">The check's name; <see langword="null"/> for <see cref="DefaultName"/>.</param>
    /// <param name="degradedThreshold">How long the read may take before the check reports Degraded; <see langword="null"/> for 1 second.</param>
    /// <param name="failureStatus">What a failed read reports; <see langword="null"/> for Unhealthy.</param>
    /// <param name="tags">Tags to filter the check by.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddEtcdSession(
        this IHealthChecksBuilder builder,
        string? name = null,
        TimeSpan? degradedThreshold = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        name ??= DefaultName;
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
