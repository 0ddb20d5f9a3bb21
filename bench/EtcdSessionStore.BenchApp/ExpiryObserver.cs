using System.Diagnostics;
using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>Counts the sessions under a prefix, and waits for etcd to remove them all by itself (no cleanup job).</summary>
internal static class ExpiryObserver
{
    public static async Task<long> CountAsync(EtcdClient raw, string prefix)
    {
        var start = Encoding.UTF8.GetBytes(prefix);
        var end = (byte[])start.Clone();
        end[^1]++;
        var response = await raw.GetAsync(new RangeRequest
        {
            Key = ByteString.CopyFrom(start),
            RangeEnd = ByteString.CopyFrom(end),
            CountOnly = true,
        }, deadline: DateTime.UtcNow.AddSeconds(30));
        return response.Count;
    }

    /// <summary>Polls the session count once a second until it is zero; returns when, and the fastest removal seen.</summary>
    public static async Task<(DateTimeOffset? ZeroAt, double PeakPerSecond)> WaitForZeroAsync(EtcdClient raw, string prefix, DateTimeOffset giveUpAt)
    {
        var previous = await CountAsync(raw, prefix);
        var peak = 0.0;
        var lastPrint = DateTimeOffset.MinValue;
        while (DateTimeOffset.UtcNow < giveUpAt)
        {
            var t0 = Stopwatch.GetTimestamp();
            await Task.Delay(1000);
            var count = await CountAsync(raw, prefix);
            peak = Math.Max(peak, (previous - count) / Stopwatch.GetElapsedTime(t0).TotalSeconds);
            previous = count;
            if (count == 0)
            {
                return (DateTimeOffset.UtcNow, peak);
            }

            if (DateTimeOffset.UtcNow - lastPrint > TimeSpan.FromSeconds(15))
            {
                var leases = (await raw.LeaseLeasesAsync(new LeaseLeasesRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Leases.Count;
                Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {count:N0} sessions and {leases:N0} leases left");
                lastPrint = DateTimeOffset.UtcNow;
            }
        }

        return (null, peak);
    }
}
