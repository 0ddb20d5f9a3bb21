using System.Globalization;
using System.Text;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>The scale benchmark's markdown: latency and resources per checkpoint, expiry, and the targets.</summary>
internal static class ScaleReport
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Markdown(string etcdVersion, ScaleRun run, IReadOnlyList<ScaleCheckpoint> rows, ScaleExpiry expiry, out bool pass)
    {
        var sb = new StringBuilder();
        if (run.IsSmoke)
        {
            sb.AppendLine(C, $"**Smoke run** ({run.Checkpoints[^1]:N0} sessions instead of 1,000,000): placeholder numbers, not for citing.");
            sb.AppendLine();
        }

        var filled = rows.Sum(r => r.FillSeconds);
        sb.AppendLine(C, $"Measured {run.Started:yyyy-MM-dd HH:mm} UTC on: {MachineInfo.Describe(etcdVersion)}.");
        sb.AppendLine(C, $"One etcd member, fsync on, backend quota {ScaleMember.QuotaBytes / 1073741824} GiB; sessions of about 300 bytes written straight into etcd in the store's format, " +
            $"{BulkSessionFill.PutsPerTxn} per transaction, {run.FillConcurrency} transactions in flight, at most {BulkSessionFill.KeysPerLease} per expiry lease; idle timeout {run.Idle.TotalSeconds:0} s; " +
            $"at each checkpoint, {run.Settle.TotalSeconds:0} s after its fill, {run.Samples:N0} loads and {run.Samples:N0} one-value commits of random live sessions through the store API, {run.Concurrency} concurrent callers, " +
            $"in {LatencyRounds.Count} rounds interleaved with the same on a reference member (fsync on, same disk) that holds {run.Checkpoints[0]:N0} sessions throughout; " +
            $"then {run.Samples:N0} visits of random live sessions over HTTP through UseEtcdSession (Kestrel, 127.0.0.1): POST /write with the session's cookie, then GET /read with the token it set, " +
            $"timing the read, rounds interleaved the same way (the near-cache hit rate is over these visits' lookups: the write's load and the read); " +
            $"p50 over all samples, p99 the median of the rounds' p99s. Filling {run.Checkpoints[^1]:N0} sessions took {filled:0.0} s of writing in all " +
            $"({run.Checkpoints[^1] / Math.Max(filled, 1e-9):N0} sessions/s).");
        sb.AppendLine();
        sb.AppendLine(C, $"| live sessions | load p50 ms | load p99 ms | commit p50 ms | commit p99 ms | reference ({run.Checkpoints[0]:N0}): load p99 ms | reference: commit p99 ms | load p99 / reference | commit p99 / reference " +
            $"| read after write p99 ms | reference: read after write p99 ms | read after write p99 / reference | near-cache hit rate |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            sb.AppendLine(C, $"| {r.LiveSessions:N0} | {r.Load.P50:0.00} | {r.Load.P99:0.00} | {r.Commit.P50:0.00} | {r.Commit.P99:0.00} | {r.ReferenceLoad.P99:0.00} | {r.ReferenceCommit.P99:0.00} " +
                $"| {r.LoadVsReference:0.00}x | {r.CommitVsReference:0.00}x | {r.ReadAfterWrite.P99:0.00} | {r.ReferenceReadAfterWrite.P99:0.00} | {r.ReadAfterWriteVsReference:0.00}x | {r.NearCacheHitRate} |");
        }

        sb.AppendLine();
        sb.AppendLine("| live sessions | filled now | fill s | fill sessions/s | etcd leases | etcd db size MiB | etcd RSS MiB | app GC heap MiB | app working set MiB | near-cache size MiB | near-cache entries |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            sb.AppendLine(C, $"| {r.LiveSessions:N0} | {r.FilledNow:N0} | {r.FillSeconds:0.0} | {r.FillRate:N0} | {r.Leases:N0} | {r.EtcdDbBytes / 1048576.0:0.0} | {r.EtcdRssMiB:0} " +
                $"| {r.AppHeapBytes / 1048576.0:0.0} | {r.AppWorkingSetBytes / 1048576.0:0} | {NearCacheSnapshot.FormatMiB(r.NearCacheBytes)} | {(r.NearCacheEntries is { } e ? e.ToString("N0", C) : "n/a")} |");
        }

        sb.AppendLine();
        pass = true;
        foreach (var r in rows.Skip(1))
        {
            var ok = r.LoadVsReference <= ScaleRun.P99Target && r.CommitVsReference <= ScaleRun.P99Target && r.ReadAfterWriteVsReference <= ScaleRun.P99Target;
            pass &= ok;
            sb.AppendLine(C, $"- p99 at {r.Sessions:N0} within {ScaleRun.P99Target}x of the reference ({run.Checkpoints[0]:N0}, same rounds): **{Verdict(ok)}** " +
                $"(load {r.LoadVsReference:0.00}x, commit {r.CommitVsReference:0.00}x, read after write over HTTP {r.ReadAfterWriteVsReference:0.00}x; against the first row, measured earlier: load {r.Load.P99 / rows[0].Load.P99:0.00}x, commit {r.Commit.P99 / rows[0].Commit.P99:0.00}x)");
        }

        pass &= AppendMemory(sb, run, rows);
        pass &= AppendExpiry(sb, run, expiry);
        return sb.ToString();
    }

    private static bool AppendMemory(StringBuilder sb, ScaleRun run, IReadOnlyList<ScaleCheckpoint> rows)
    {
        var limitMiB = run.NearCacheSizeLimit / 1048576.0;
        var growth = rows[^1].AppHeapBytes - rows[0].AppHeapBytes;
        var heapOk = growth <= run.NearCacheSizeLimit;
        var largestCache = rows.Max(r => r.NearCacheBytes);
        var cacheOk = largestCache is null || largestCache <= run.NearCacheSizeLimit;
        sb.AppendLine(C, $"- App memory bounded by the near cache's SizeLimit ({limitMiB:0} MiB): the live GC heap grew by {growth / 1048576.0:0.0} MiB " +
            $"from {rows[0].LiveSessions:N0} to {rows[^1].LiveSessions:N0} sessions; the near cache held at most {NearCacheSnapshot.FormatMiB(largestCache)} MiB: " +
            $"**{Verdict(heapOk && cacheOk)}**");
        return heapOk && cacheOk;
    }

    private static bool AppendExpiry(StringBuilder sb, ScaleRun run, ScaleExpiry expiry)
    {
        if (expiry.ZeroAt is not { } zero)
        {
            sb.AppendLine("- Expiry with no cleanup job: sessions were still in etcd 10 minutes after the last deadline. **FAIL**");
            return false;
        }

        var lastDeadline = expiry.LastWrite + run.Idle;
        sb.AppendLine(C, $"- Expiry with no cleanup job: the first sessions were due at {expiry.FirstWrite + run.Idle:HH:mm:ss}, the last at {lastDeadline:HH:mm:ss}; " +
            $"etcd held none at {zero:HH:mm:ss}, {(zero - lastDeadline).TotalSeconds:0} s after the last deadline " +
            $"({(zero - (expiry.FirstWrite + run.Idle)).TotalSeconds:0} s from the first). Fastest removal seen: {expiry.PeakRemovalPerSecond:N0} sessions/s. " +
            $"Afterwards: etcd db size {expiry.DbBytesAfter / 1048576.0:0.0} MiB (no compaction ran), RSS {expiry.RssMiBAfter:0} MiB. **PASS**");
        return true;
    }

    private static string Verdict(bool pass) => pass ? "PASS" : "FAIL";
}
