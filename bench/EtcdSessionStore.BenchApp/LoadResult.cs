namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>One timed run: throughput, latency percentiles, and requests that failed.</summary>
internal sealed record LoadResult(double PerSecond, double P50Ms, double P99Ms, long Operations, long Errors)
{
    /// <summary>CPU time the app process spent per request, in microseconds (NaN when not measured).</summary>
    public double AppCpuUs { get; init; } = double.NaN;

    /// <summary>CPU time the storage server (etcd or redis-server) spent per request, in microseconds (NaN when none).</summary>
    public double ServerCpuUs { get; init; } = double.NaN;

    /// <summary>Unary etcd calls per request, counted by etcd (not measured for the sides that do not use etcd).</summary>
    public EtcdCallsPerRequest EtcdCalls { get; init; } = EtcdCallsPerRequest.NotMeasured;

    /// <summary>The near cache's hit rate during the run, 0..1; NaN when the app has no near cache (or did no lookup).</summary>
    public double NearCacheHitRate { get; init; } = double.NaN;

    /// <summary>The median of each figure over several runs (rounds).</summary>
    public static LoadResult Median(IReadOnlyCollection<LoadResult> runs) => new(
        Percentiles.Median(runs.Select(r => r.PerSecond)),
        Percentiles.Median(runs.Select(r => r.P50Ms)),
        Percentiles.Median(runs.Select(r => r.P99Ms)),
        runs.Sum(r => r.Operations),
        runs.Sum(r => r.Errors))
    {
        AppCpuUs = Percentiles.Median(runs.Select(r => r.AppCpuUs)),
        ServerCpuUs = Percentiles.Median(runs.Select(r => r.ServerCpuUs)),
        EtcdCalls = EtcdCallsPerRequest.Median([.. runs.Select(r => r.EtcdCalls)]),
        NearCacheHitRate = Percentiles.Median(runs.Select(r => r.NearCacheHitRate)),
    };
}
