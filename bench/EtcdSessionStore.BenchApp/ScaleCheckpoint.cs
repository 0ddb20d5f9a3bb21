namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>What the scale benchmark measured at one checkpoint (one row of its table).</summary>
internal sealed record ScaleCheckpoint(
    int Sessions,
    long LiveSessions,
    double FillSeconds,
    int FilledNow,
    LatencyRounds Load,
    LatencyRounds Commit,
    LatencyRounds ReferenceLoad,
    LatencyRounds ReferenceCommit,
    LatencyRounds ReadAfterWrite,
    LatencyRounds ReferenceReadAfterWrite,
    int Leases,
    long EtcdDbBytes,
    double EtcdRssMiB,
    long AppHeapBytes,
    long AppWorkingSetBytes,
    string NearCacheHitRate,
    long? NearCacheBytes,
    long? NearCacheEntries)
{
    public double LoadVsReference => Load.P99 / ReferenceLoad.P99;

    public double CommitVsReference => Commit.P99 / ReferenceCommit.P99;

    public double ReadAfterWriteVsReference => ReadAfterWrite.P99 / ReferenceReadAfterWrite.P99;

    public double FillRate => FilledNow / Math.Max(FillSeconds, 1e-9);
}
