using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// etcd's own throughput on this machine, for comparison: concurrent callers doing plain operations on
/// session-sized values through dotnet-etcd, with no session logic around them.
/// </summary>
internal static class RawEtcdLoop
{
    public enum Operation
    {
        /// <summary>A linearizable Range (what the store's load does).</summary>
        Range,

        /// <summary>A serializable Range (served by the member locally, no consensus round).</summary>
        SerializableRange,

        /// <summary>A Put with no lease.</summary>
        Put,

        /// <summary>
        /// What the store's write request sends, without the app: a Range, then a transaction guarded on the
        /// mod_revision it read that puts the value on a lease of the current second.
        /// </summary>
        RangeThenTxnOnSecondLease,
    }

    private const int Keys = 1024;

    public static async Task SeedAsync(EtcdClient client, int valueBytes)
    {
        var value = ByteString.CopyFromUtf8(new string('v', valueBytes));
        for (var i = 0; i < Keys; i++)
        {
            await client.PutAsync(new PutRequest { Key = KeyOf(i), Value = value });
        }
    }

    public static async Task<LoadResult> RunAsync(EtcdClient client, Operation operation, int valueBytes, int concurrency, int seconds)
    {
        var leases = new System.Collections.Concurrent.ConcurrentDictionary<long, Lazy<Task<long>>>();
        var value = ByteString.CopyFromUtf8(new string('v', valueBytes));
        var until = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        var next = 0;
        var errors = 0L;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<double>();
            while (Stopwatch.GetTimestamp() < until)
            {
                var key = KeyOf(Interlocked.Increment(ref next) % Keys);
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    switch (operation)
                    {
                        case Operation.Range:
                        case Operation.SerializableRange:
                            await client.GetAsync(new RangeRequest { Key = key, Serializable = operation == Operation.SerializableRange });
                            break;
                        case Operation.Put:
                            await client.PutAsync(new PutRequest { Key = key, Value = value });
                            break;
                        default:
                            var read = await client.GetAsync(new RangeRequest { Key = key });
                            var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                            var lease = await leases.GetOrAdd(second, _ => new Lazy<Task<long>>(async () =>
                                (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 1200 })).ID)).Value;
                            var txn = new TxnRequest();
                            txn.Compare.Add(new Compare
                            {
                                Key = key,
                                Target = Compare.Types.CompareTarget.Mod,
                                Result = Compare.Types.CompareResult.Equal,
                                ModRevision = read.Kvs[0].ModRevision,
                            });
                            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = value, Lease = lease } });
                            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
                            await client.TransactionAsync(txn);
                            break;
                    }

                    latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                catch (Grpc.Core.RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }

            return latencies;
        })).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToArray();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new LoadResult(all.Length / elapsed, Percentiles.Of(all, 50), Percentiles.Of(all, 99), all.Length, errors);
    }

    private static ByteString KeyOf(int i) => ByteString.CopyFromUtf8($"raw/{i:D4}");
}
