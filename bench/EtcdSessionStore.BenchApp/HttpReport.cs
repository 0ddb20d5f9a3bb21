using System.Globalization;
using System.Text;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>The HTTP benchmark's markdown: throughput and each side's durability, etcd calls per request, CPU per request, ratios, and the targets.</summary>
internal static class HttpReport
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Markdown(Dictionary<(string Side, string Kind), LoadResult> r, string etcdVersion, HttpRun run, out bool pass)
    {
        var sb = new StringBuilder();
        if (run.IsSmoke)
        {
            sb.AppendLine("**Smoke run** (shorter than the defaults of 3 rounds of 10 s): placeholder numbers, not for citing.");
            sb.AppendLine();
        }

        sb.AppendLine(C, $"Measured {run.Started:yyyy-MM-dd HH:mm} UTC on: {MachineInfo.Describe(etcdVersion)}; {MachineInfo.RedisVersion()}; {WrkRunner.Version()}.");
        sb.AppendLine(C, $"{run.Connections} connections ({WrkRunner.Threads} wrk threads), {run.Sessions:N0} pre-made sessions per side, {run.Rounds} interleaved rounds of {run.Seconds} s per cell; medians over rounds.");
        sb.AppendLine();
        sb.AppendLine("| side | durability of a write | read req/s | read p50 ms | read p99 ms | write req/s | write p50 ms | write p99 ms | failed requests |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var side in run.Apps.Concat(HttpSide.RawEtcd))
        {
            var (read, write) = (r[(side.Key, "read")], r[(side.Key, "write")]);
            sb.AppendLine(C, $"| {Label(side, run)} | {side.Durability} | {read.PerSecond:N0} | {read.P50Ms:0.00} | {read.P99Ms:0.00} | {write.PerSecond:N0} | {write.P50Ms:0.00} | {write.P99Ms:0.00} | {read.Errors + write.Errors} |");
        }

        sb.AppendLine();
        AppendEtcdCalls(sb, r, run);
        AppendCpu(sb, r, run);
        var targets = new HttpTargets(r);
        sb.AppendLine("| ratio (requests/s) | read | write |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var store in new[] { HttpSide.Store, HttpSide.StoreWithoutNearCache, run.Baseline }.OfType<HttpSide>())
        {
            foreach (var redis in HttpSide.RedisSides)
            {
                var against = redis.Label.Replace("stock session over ", "", StringComparison.Ordinal);
                sb.AppendLine(C, $"| {store.Label.Replace(" (etcd)", "", StringComparison.Ordinal)} / {against} | {targets.Ratio(store, redis, "read"):0.00}x | {targets.Ratio(store, redis, "write"):0.00}x |");
            }
        }

        if (run.Baseline is { } baseline)
        {
            sb.AppendLine(C, $"| this store / {baseline.Label.Replace("this store at ", "", StringComparison.Ordinal)} | {targets.Ratio(HttpSide.Store, baseline, "read"):0.00}x | {targets.Ratio(HttpSide.Store, baseline, "write"):0.00}x |");
        }

        sb.AppendLine(C, $"| this store, EncryptAtRest on / off (this store) | {targets.Ratio(HttpSide.StoreEncrypted, HttpSide.Store, "read"):0.00}x | {targets.Ratio(HttpSide.StoreEncrypted, HttpSide.Store, "write"):0.00}x |");
        sb.AppendLine(C, $"| this store / near cache off | {targets.Ratio(HttpSide.Store, HttpSide.StoreWithoutNearCache, "read"):0.00}x | {targets.Ratio(HttpSide.Store, HttpSide.StoreWithoutNearCache, "write"):0.00}x |");
        sb.AppendLine(C, $"| this store / in-memory | {targets.Ratio(HttpSide.Store, HttpSide.Memory, "read"):0.00}x | {targets.Ratio(HttpSide.Store, HttpSide.Memory, "write"):0.00}x |");
        sb.AppendLine(C, $"| this store, near cache off / its etcd calls without the app | {targets.Ratio(HttpSide.StoreWithoutNearCache, HttpSide.RawStoreCalls, "read"):0.00}x | {targets.Ratio(HttpSide.StoreWithoutNearCache, HttpSide.RawStoreCalls, "write"):0.00}x |");
        sb.AppendLine(C, $"| this store / plain etcd ops (serializable range; put) | {targets.Ratio(HttpSide.Store, HttpSide.RawPlain, "read"):0.00}x | {targets.Ratio(HttpSide.Store, HttpSide.RawPlain, "write"):0.00}x |");
        sb.AppendLine();
        targets.AppendVerdicts(sb);
        pass = targets.Pass;
        sb.AppendLine();
        sb.AppendLine("![Requests per second by side and request kind](benchmarks-http.png)");
        return sb.ToString();
    }

    private static void AppendEtcdCalls(StringBuilder sb, Dictionary<(string Side, string Kind), LoadResult> r, HttpRun run)
    {
        sb.AppendLine("etcd calls per request, counted by etcd (unary calls completed, from its `/metrics`, over the cell, divided by the requests served; medians over rounds), and the near cache's hit rate as the app counted it:");
        sb.AppendLine();
        sb.AppendLine("| side | read: etcd calls / request | read: Range | read: Txn | read: other | write: etcd calls / request | write: Range | write: Txn | write: other | near-cache hit rate: read | near-cache hit rate: write |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var side in run.Apps.Concat(HttpSide.RawEtcd).Where(s => s.UsesEtcd))
        {
            var (read, write) = (r[(side.Key, "read")], r[(side.Key, "write")]);
            var cache = side.Mode is null
                ? "- | -"
                : $"{NearCacheSnapshot.Format(read.NearCacheHitRate)} | {NearCacheSnapshot.Format(write.NearCacheHitRate)}";
            sb.AppendLine(C, $"| {Label(side, run)} | {Calls(read.EtcdCalls)} | {Calls(write.EtcdCalls)} | {cache} |");
        }

        sb.AppendLine();
    }

    private static void AppendCpu(StringBuilder sb, Dictionary<(string Side, string Kind), LoadResult> r, HttpRun run)
    {
        static string Cpu(double us) => double.IsNaN(us) ? "-" : us.ToString("0", C);
        sb.AppendLine("CPU time per request (microseconds; all processes share the same cores, so this is what limits throughput here; for raw etcd the client is the driver):");
        sb.AppendLine();
        sb.AppendLine("| side | read: app (or client) | read: storage server | write: app (or client) | write: storage server |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var side in run.Apps.Concat(HttpSide.RawEtcd))
        {
            var (read, write) = (r[(side.Key, "read")], r[(side.Key, "write")]);
            sb.AppendLine(C, $"| {Label(side, run)} | {read.AppCpuUs:0} | {Cpu(read.ServerCpuUs)} | {write.AppCpuUs:0} | {Cpu(write.ServerCpuUs)} |");
        }

        sb.AppendLine();
    }

    private static string Label(HttpSide side, HttpRun run) =>
        side.Mode is null ? side.Label.Replace("raw etcd", $"raw etcd, {run.Connections} callers", StringComparison.Ordinal) : side.Label;

    private static string Calls(EtcdCallsPerRequest calls) =>
        calls.IsMeasured
            ? string.Create(C, $"{calls.Total:0.000} | {calls.Range:0.000} | {calls.Txn:0.000} | {calls.Other:0.000}")
            : "- | - | - | -";
}
