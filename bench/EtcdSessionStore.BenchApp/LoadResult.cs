namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>One timed run: throughput, latency percentiles, and requests that failed.</summary>
internal sealed record LoadResult(double PerSecond, double P50Ms, double P99Ms, long Operations, long Errors)
{
    /// <summary>The median of each figure over several runs (rounds).</summary>
    public static LoadResult Median(IReadOnlyCollection<LoadResult> runs) => new(
        Percentiles.Median(runs.Select(r => r.PerSecond)),
        Percentiles.Median(runs.Select(r => r.P50Ms)),
        Percentiles.Median(runs.Select(r => r.P99Ms)),
        runs.Sum(r => r.Operations),
        runs.Sum(r => r.Errors));
}
