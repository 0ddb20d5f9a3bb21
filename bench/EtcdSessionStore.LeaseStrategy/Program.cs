// Measures what attaching keys to etcd leases costs under each lease strategy, on a throwaway etcd
// (fsync on) that it starts and stops itself. Usage:
//   dotnet run -c Release --project bench/EtcdSessionStore.LeaseStrategy -- [keysPerRound] [rounds]
// Prints a markdown table: put latency (p50/p99) and throughput per strategy and round.
using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

var keysPerRound = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
const int Concurrency = 32;

await using var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
using var client = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
var value = ByteString.CopyFromUtf8(new string('x', 300));

// One lease for every key (a naive "bucket"): every attach lands on one ever-growing lease.
var shared = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 })).ID;
// One lease per expiry second: a lease holds only the keys written in one second.
var perSecond = new Dictionary<long, long>();
var perSecondLock = new SemaphoreSlim(1);
// Leases per expiry second, each filled with at most SlotSize keys (this store's strategy).
const int SlotSize = 256;
var slotted = new Dictionary<(long Second, int Slot), long>();
var slotCounts = new Dictionary<long, int>();

async Task<long> LeaseFor(long second, int slot, Dictionary<(long, int), long> cache)
{
    if (!cache.TryGetValue((second, slot), out var id))
    {
        id = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 })).ID;
        cache[(second, slot)] = id;
    }

    return id;
}

var strategies = new (string Name, Func<Task<long>> Lease)[]
{
    ("one shared lease", () => Task.FromResult(shared)),
    ("lease per key (grant + put)", async () => (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 })).ID),
    ("lease per expiry second", async () =>
    {
        var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        await perSecondLock.WaitAsync();
        try
        {
            if (!perSecond.TryGetValue(second, out var id))
            {
                id = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 })).ID;
                perSecond[second] = id;
            }

            return id;
        }
        finally
        {
            perSecondLock.Release();
        }
    }),
    ($"lease per expiry second, {SlotSize} keys per lease", async () =>
    {
        var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        await perSecondLock.WaitAsync();
        try
        {
            var written = slotCounts.GetValueOrDefault(second);
            slotCounts[second] = written + 1;
            return await LeaseFor(second, written / SlotSize, slotted);
        }
        finally
        {
            perSecondLock.Release();
        }
    }),
    ("no lease (reference)", () => Task.FromResult(0L)),
};

Console.WriteLine($"etcd {etcd.Version}, fsync on, {keysPerRound:N0} puts per round, {Concurrency} concurrent callers, {Environment.ProcessorCount} cores");
Console.WriteLine();
Console.WriteLine("| strategy | round | keys on lease(s) before | puts/s | put p50 ms | put p99 ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
for (var round = 1; round <= rounds; round++)
{
    // Interleaved: each round runs every strategy once, so drift on a shared machine hits all alike.
    foreach (var (name, lease) in strategies)
    {
        var latencies = new double[keysPerRound];
        var gate = new SemaphoreSlim(Concurrency);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, keysPerRound).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var id = await lease();
                var start = Stopwatch.GetTimestamp();
                await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"{name}/{round}/{i}"), Value = value, Lease = id });
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            finally
            {
                gate.Release();
            }
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        Console.WriteLine($"| {name} | {round} | {(round - 1) * keysPerRound:N0} | {keysPerRound / seconds:N0} | {latencies[latencies.Length / 2]:F2} | {latencies[(int)(latencies.Length * 0.99)]:F2} |");
    }
}
