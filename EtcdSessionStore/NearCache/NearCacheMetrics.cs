using System.Diagnostics.Metrics;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>The near cache's instruments (names documented in docs/observability.md).</summary>
internal sealed class NearCacheMetrics
{
    private static readonly KeyValuePair<string, object?> HitTag = new("result", "hit");
    private static readonly KeyValuePair<string, object?> MissTag = new("result", "miss");
    private static readonly KeyValuePair<string, object?> BypassTag = new("result", "bypass");
    private readonly Counter<long> _lookups;

    public NearCacheMetrics(IMeterFactory meterFactory, SessionCache cache)
    {
        var meter = meterFactory.Create(EtcdSessionInstrumentation.MeterName);
        _lookups = meter.CreateCounter<long>("etcd.session.near_cache.lookups", "{lookup}",
            "Session reads by what the near cache could do: hit (answered from memory), miss (not cached, or older than the client's last write), bypass (freshness not proven).");
        meter.CreateObservableCounter("etcd.session.near_cache.evictions", () => cache.Evictions, "{session}", "Sessions dropped from the near cache to stay under its size limit.");
        meter.CreateObservableGauge("etcd.session.near_cache.size", () => cache.Size, "By", "The estimated memory the near cache takes.");
        meter.CreateObservableGauge("etcd.session.near_cache.entries", () => (long)cache.Count, "{session}", "Sessions the near cache follows.");
        meter.CreateObservableGauge("etcd.session.near_cache.staleness", () => cache.Freshness.Age?.TotalSeconds ?? double.NaN, "s",
            "Time since the last heartbeat the watch delivered was sent: how far behind etcd the cache may be (watch lag).");
    }

    public void Looked(CacheLookup result) => _lookups.Add(1, result switch
    {
        CacheLookup.Hit => HitTag,
        CacheLookup.Miss => MissTag,
        _ => BypassTag,
    });
}
