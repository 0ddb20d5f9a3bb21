using System.Globalization;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The near cache's counters and gauges at one moment (see <see cref="NearCacheListener"/>);
/// <see cref="Available"/> is false when the store publishes no near-cache instrument.
/// </summary>
internal sealed record NearCacheSnapshot(
    bool Available, long Hits, long Misses, long Bypasses, long Evictions, long? SizeBytes, long? Entries, double? StalenessSeconds)
{
    public static readonly NearCacheSnapshot None = new(false, 0, 0, 0, 0, null, null, null);

    /// <summary>Hits among the lookups made since <paramref name="before"/>: 0..1, or NaN when there is no cache or no lookup.</summary>
    public double HitRateSince(NearCacheSnapshot before)
    {
        var hits = Hits - before.Hits;
        var lookups = hits + (Misses - before.Misses) + (Bypasses - before.Bypasses);
        return Available && lookups > 0 ? (double)hits / lookups : double.NaN;
    }

    /// <summary>The hit rate since <paramref name="before"/> as text: "n/a" without a cache, "no lookups" when nothing asked it.</summary>
    public string HitRateTextSince(NearCacheSnapshot before)
    {
        var lookups = Hits - before.Hits + (Misses - before.Misses) + (Bypasses - before.Bypasses);
        return !Available ? "n/a"
            : lookups == 0 ? "no lookups"
            : string.Create(CultureInfo.InvariantCulture, $"{Format(HitRateSince(before))} of {lookups:N0}");
    }

    /// <summary>A hit rate as a percentage, or "n/a".</summary>
    public static string Format(double hitRate) =>
        double.IsNaN(hitRate) ? "n/a" : (hitRate * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    /// <summary>A byte count in MiB, or "n/a".</summary>
    public static string FormatMiB(long? bytes) =>
        bytes is { } b ? (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) : "n/a";
}
