using System.Globalization;
using System.Text;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The HTTP benchmark's targets for this store with default options, checked on the medians: requests/s against
/// the stock session over Redis with no persistence (with the moonshots, printed but not enforced), etcd calls per
/// request as etcd counted them, and no failed request.
/// </summary>
internal sealed class HttpTargets(Dictionary<(string Side, string Kind), LoadResult> results)
{
    public const double ReadVsRedisTarget = 2.0;
    public const double ReadVsRedisMoonshot = 3.0;
    public const double WriteVsRedisTarget = 0.8;
    public const double WriteVsRedisMoonshot = 1.5;
    public const double EtcdCallsPerCachedRead = 0.1;
    public const double EtcdCallsPerWrite = 1.1;

    public double ReadVsRedis => Ratio(HttpSide.Store, HttpSide.Redis, "read");

    public double WriteVsRedis => Ratio(HttpSide.Store, HttpSide.Redis, "write");

    public double CallsPerRead => results[(HttpSide.Store.Key, "read")].EtcdCalls.Total;

    public double CallsPerWrite => results[(HttpSide.Store.Key, "write")].EtcdCalls.Total;

    public long Failed => HttpSide.Apps.Sum(s => results[(s.Key, "read")].Errors + results[(s.Key, "write")].Errors);

    public bool Pass => ReadVsRedis >= ReadVsRedisTarget && WriteVsRedis >= WriteVsRedisTarget
        && CallsPerRead <= EtcdCallsPerCachedRead && CallsPerWrite <= EtcdCallsPerWrite && Failed == 0;

    public double Ratio(HttpSide a, HttpSide b, string kind) => results[(a.Key, kind)].PerSecond / results[(b.Key, kind)].PerSecond;

    public void AppendVerdicts(StringBuilder sb)
    {
        var c = CultureInfo.InvariantCulture;
        var hitRate = NearCacheSnapshot.Format(results[(HttpSide.Store.Key, "read")].NearCacheHitRate);
        sb.AppendLine(c, $"- Read requests/s >= {ReadVsRedisTarget:0.0}x Redis (no persistence): **{Verdict(ReadVsRedis >= ReadVsRedisTarget)}** ({ReadVsRedis:0.00}x); moonshot {ReadVsRedisMoonshot:0.0}x: {Moonshot(ReadVsRedis >= ReadVsRedisMoonshot)}");
        sb.AppendLine(c, $"- Write requests/s >= {WriteVsRedisTarget:0.0}x Redis (no persistence): **{Verdict(WriteVsRedis >= WriteVsRedisTarget)}** ({WriteVsRedis:0.00}x); moonshot {WriteVsRedisMoonshot:0.0}x: {Moonshot(WriteVsRedis >= WriteVsRedisMoonshot)}");
        sb.AppendLine(c, $"- etcd calls per cached read <= {EtcdCallsPerCachedRead:0.0} (near-cache hit rate {hitRate}): **{Verdict(CallsPerRead <= EtcdCallsPerCachedRead)}** ({CallsPerRead:0.000})");
        sb.AppendLine(c, $"- etcd calls per write <= {EtcdCallsPerWrite:0.0}: **{Verdict(CallsPerWrite <= EtcdCallsPerWrite)}** ({CallsPerWrite:0.000})");
        sb.AppendLine(c, $"- No failed requests: **{Verdict(Failed == 0)}** ({Failed})");
    }

    private static string Verdict(bool pass) => pass ? "PASS" : "FAIL";

    private static string Moonshot(bool reached) => reached ? "reached" : "not reached";
}
