using System.Diagnostics;
using Etcd.AspNetCore.Session.Sessions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Etcd.AspNetCore.Session.Diagnostics;

/// <summary>
/// Reports whether etcd answers a linearizable read under the store's key prefix (which needs a quorum),
/// and how fast: Degraded above the threshold, or while the near cache is bypassed (it cannot prove it is current);
/// the registration's failure status when etcd does not answer.
/// </summary>
internal sealed class EtcdSessionHealthCheck : IHealthCheck
{
    private readonly SessionBackend _backend;
    private readonly TimeSpan _degradedThreshold;

    public EtcdSessionHealthCheck(SessionBackend backend, TimeSpan degradedThreshold)
    {
        _backend = backend;
        _degradedThreshold = degradedThreshold;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _backend.Gateway.GetAsync(_backend.Options.KeyPrefix + "health", cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"etcd did not answer: {ex.Message}", ex,
                new Dictionary<string, object> { ["error.type"] = SessionMetrics.KindName(ex.Kind) });
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var data = new Dictionary<string, object> { ["latency_ms"] = Math.Round(elapsed.TotalMilliseconds, 1) };
        if (_backend.NearCache is { } cache)
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
