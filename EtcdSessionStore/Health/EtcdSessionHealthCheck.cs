using System.Diagnostics;
using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Etcd.AspNetCore.Session.Health;

/// <summary>
/// Reports whether etcd answers a linearizable read under the store's key prefix (which needs a quorum),
/// and how fast: Degraded above the threshold, or while the near cache is bypassed (it cannot prove it is current);
/// the registration's failure status when etcd does not answer.
/// </summary>
internal sealed class EtcdSessionHealthCheck : IHealthCheck
{
    private readonly EtcdGateway _gateway;
    private readonly string _probeKey;
    private readonly TimeSpan _degradedThreshold;
    private readonly SessionCache? _nearCache;

    /// <param name="gateway">The store's etcd access.</param>
    /// <param name="keyPrefix">The store's <see cref="EtcdSessionOptions.KeyPrefix"/>: the check reads <c>{KeyPrefix}health</c>.</param>
    /// <param name="degradedThreshold">Slower answers are Degraded.</param>
    /// <param name="nearCache">The near cache, if any: Degraded while it is bypassed.</param>
    public EtcdSessionHealthCheck(EtcdGateway gateway, string keyPrefix, TimeSpan degradedThreshold, SessionCache? nearCache = null)
    {
        _nearCache = nearCache;
        _gateway = gateway;
        _probeKey = keyPrefix + "health";
        _degradedThreshold = degradedThreshold;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _gateway.GetAsync(_probeKey, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"etcd did not answer: {ex.Message}", ex,
                new Dictionary<string, object> { ["error.type"] = SessionMetrics.KindName(ex.Kind) });
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var data = new Dictionary<string, object> { ["latency_ms"] = Math.Round(elapsed.TotalMilliseconds, 1) };
        if (_nearCache is { } cache)
        {
            var age = cache.Freshness.Age;
            data["near_cache_staleness_ms"] = age is { } a ? Math.Round(a.TotalMilliseconds, 1) : -1;
            if (!cache.Freshness.IsFresh)
            {
                return HealthCheckResult.Degraded(
                    $"etcd answered in {elapsed.TotalMilliseconds:0} ms, but the near cache is bypassed: its watch has not proven it current within MaxStaleness (every read goes to etcd).", data: data);
            }
        }

        return elapsed > _degradedThreshold
            ? HealthCheckResult.Degraded($"etcd answered in {elapsed.TotalMilliseconds:0} ms, above the threshold of {_degradedThreshold.TotalMilliseconds:0} ms.", data: data)
            : HealthCheckResult.Healthy($"etcd answered in {elapsed.TotalMilliseconds:0.0} ms.", data);
    }
}
