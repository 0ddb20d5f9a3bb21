using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using dotnet_etcd;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The side-by-side HTTP benchmark: the same app as this store (near cache on by default, and off), the stock
/// session over Redis (three redis-servers: no persistence, AOF fsynced every second, AOF fsynced on every write)
/// and over the in-memory cache, under the same wrk load, rounds interleaved; plus etcd's
/// raw calls in the same run. Each cell also counts, at etcd, the calls it cost per request, and reads the
/// near cache's hit rate from the app. Prints the tables and the targets, and writes them with a chart into
/// docs/benchmarks.md (<see cref="HttpReport"/>).
/// </summary>
internal static class HttpBenchmark
{
    private static readonly (string Key, string Method, string Path)[] Kinds =
    [
        ("read", "GET", "read"),
        ("write", "POST", "write"),
    ];

    /// <summary>etcd alone, per request kind: the calls the store makes per request, and etcd's plain read and put.</summary>
    private static readonly Dictionary<string, (HttpSide Side, RawEtcdLoop.Operation Operation)[]> RawOperations = new()
    {
        ["read"] = [(HttpSide.RawStoreCalls, RawEtcdLoop.Operation.Range), (HttpSide.RawPlain, RawEtcdLoop.Operation.SerializableRange)],
        ["write"] = [(HttpSide.RawStoreCalls, RawEtcdLoop.Operation.RangeThenTxnOnSecondLease), (HttpSide.RawPlain, RawEtcdLoop.Operation.Put)],
    };

    private static readonly HttpClient Stats = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<int> RunAsync(BenchArguments args)
    {
        var baselineProgram = args.String("baseline-program", "");
        var run = new HttpRun(args.Int("duration", 10), args.Int("rounds", 3), args.Int("connections", 16), args.Int("sessions", 1024), DateTimeOffset.UtcNow)
        {
            Apps = baselineProgram.Length == 0 ? HttpSide.Apps : [.. HttpSide.Apps, HttpSide.Baseline(baselineProgram, args.String("baseline", "baseline"))],
        };
        var warmup = args.Int("warmup", Math.Min(5, run.Seconds));
        var docs = BenchDoc.DocsDirectory(args);
        var work = Directory.CreateTempSubdirectory("session-bench-");

        await using var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
        using var etcdGuard = ChildProcess.KillOnExit(etcd.ProcessId);
        var redis = new Dictionary<HttpSide, (ChildProcess Process, string Endpoint)>();
        var apps = new Dictionary<HttpSide, (ChildProcess Process, Uri Address, string Cookies)>();
        try
        {
            foreach (var side in run.Apps.Where(s => s.Mode == "redis"))
            {
                redis[side] = await ChildProcess.StartRedisAsync(work.CreateSubdirectory($"redis-{side.Key}").FullName, side.RedisAppendFsync);
            }

            foreach (var side in run.Apps)
            {
                string[] redisArguments = redis.TryGetValue(side, out var server) ? ["--redis", server.Endpoint] : [];
                var (process, address) = await ChildProcess.StartAppAsync(side.Mode!, side.Program, ["--etcd", etcd.ClientUrl, .. redisArguments, .. side.ServeArguments]);
                var cookies = Path.Combine(work.FullName, $"cookies-{side.Key}.txt");
                apps[side] = (process, address, cookies);
                await SessionSeeder.SeedAsync(address, cookies, run.Sessions, run.Connections);
            }

            using var raw = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
            await RawEtcdLoop.SeedAsync(raw, 300);
            Console.WriteLine($"{run.Sessions:N0} sessions seeded per side; {run.Connections} connections, {WrkRunner.Threads} wrk threads, " +
                $"{run.Rounds} rounds of {run.Seconds} s per side and request kind, interleaved; warm-up {warmup} s.");

            var results = new Dictionary<(string Side, string Kind), List<LoadResult>>();
            for (var round = 0; round <= run.Rounds; round++)
            {
                var measured = round > 0; // round 0 warms every side up (JIT, connection pools, the near cache) and is not kept
                var seconds = measured ? run.Seconds : warmup;
                foreach (var (kind, method, path) in Kinds)
                {
                    foreach (var side in run.Apps)
                    {
                        var app = apps[side];
                        var server = side.Mode switch { "etcd" => etcd.ProcessId, "redis" => redis[side].Process.Id, _ => (int?)null };
                        var result = await MeasureAsync(side, etcd.ClientUrl, app.Address, app.Process.Id, server,
                            () => WrkRunner.RunAsync(new Uri(app.Address, path), method, app.Cookies, run.Connections, seconds));
                        Record(results, side.Key, kind, result, measured, round);
                    }

                    foreach (var (rawSide, operation) in RawOperations[kind])
                    {
                        var result = await MeasureAsync(rawSide, etcd.ClientUrl, null, Environment.ProcessId, etcd.ProcessId,
                            () => RawEtcdLoop.RunAsync(raw, operation, 300, run.Connections, seconds));
                        Record(results, rawSide.Key, kind, result, measured, round);
                    }
                }
            }

            var summary = results.ToDictionary(r => r.Key, r => LoadResult.Median(r.Value));
            var markdown = HttpReport.Markdown(summary, etcd.Version, run, out var pass);
            Console.WriteLine();
            Console.WriteLine(markdown);
            HttpChart.Write(Path.Combine(docs, "benchmarks-http.png"), summary,
                [.. run.Apps.Select(s => (s.Key, s.Label)), (HttpSide.RawStoreCalls.Key, "etcd alone: the near-cache-off store's calls without the app")]);
            BenchDoc.Replace(docs, "http", markdown);
            return pass ? 0 : 1;
        }
        finally
        {
            foreach (var app in apps.Values)
            {
                await app.Process.DisposeAsync();
            }

            foreach (var server in redis.Values)
            {
                await server.Process.DisposeAsync();
            }

            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// One cell: the load, with the CPU the client (app or driver) and the storage server spent per request, the
    /// etcd calls per request as etcd counted them, and the app's near-cache hit rate.
    /// </summary>
    private static async Task<LoadResult> MeasureAsync(HttpSide side, string etcdUrl, Uri? app, int clientProcess, int? serverProcess, Func<Task<LoadResult>> load)
    {
        var callsBefore = side.UsesEtcd ? await EtcdCallCounts.ScrapeAsync(etcdUrl) : null;
        var cacheBefore = await NearCacheAsync(side, app);
        var (clientCpu, serverCpu) = (CpuTime(clientProcess), CpuTime(serverProcess));
        var result = await load();
        var (clientCpuAfter, serverCpuAfter) = (CpuTime(clientProcess), CpuTime(serverProcess));
        var cacheAfter = await NearCacheAsync(side, app);
        var requests = Math.Max(1, result.Operations);
        return result with
        {
            AppCpuUs = (clientCpuAfter - clientCpu) * 1e6 / requests,
            ServerCpuUs = serverProcess is null ? double.NaN : (serverCpuAfter - serverCpu) * 1e6 / requests,
            EtcdCalls = callsBefore is null ? EtcdCallsPerRequest.NotMeasured : (await EtcdCallCounts.ScrapeAsync(etcdUrl)).PerRequestSince(callsBefore, result.Operations),
            NearCacheHitRate = cacheAfter.HitRateSince(cacheBefore),
        };
    }

    /// <summary>The app's near-cache statistics (<see cref="BenchServer.StatsPath"/>); none for the sides that are not this store.</summary>
    private static async Task<NearCacheSnapshot> NearCacheAsync(HttpSide side, Uri? app)
    {
        if (app is null || side.Mode != "etcd")
        {
            return NearCacheSnapshot.None;
        }

        return await Stats.GetFromJsonAsync<NearCacheSnapshot>(new Uri(app, BenchServer.StatsPath.TrimStart('/')), JsonSerializerOptions.Web)
            ?? NearCacheSnapshot.None;
    }

    /// <summary>User plus system CPU seconds a process has used so far (0 for none).</summary>
    private static double CpuTime(int? processId)
    {
        if (processId is null)
        {
            return 0;
        }

        using var process = System.Diagnostics.Process.GetProcessById(processId.Value);
        return process.TotalProcessorTime.TotalSeconds;
    }

    private static void Record(Dictionary<(string, string), List<LoadResult>> results, string side, string kind, LoadResult result, bool measured, int round)
    {
        var calls = result.EtcdCalls.IsMeasured ? string.Create(CultureInfo.InvariantCulture, $"  etcd calls/request {result.EtcdCalls.Total:0.000}") : "";
        var cache = double.IsNaN(result.NearCacheHitRate) ? "" : $"  near-cache hits {NearCacheSnapshot.Format(result.NearCacheHitRate)}";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(measured ? $"round {round}" : "warm-up"),-8} {kind,-5} {side,-13} {result.PerSecond,9:N0}/s  p50 {result.P50Ms,6:0.00} ms  p99 {result.P99Ms,7:0.00} ms  errors {result.Errors}  CPU/request: app {result.AppCpuUs:0} us, server {result.ServerCpuUs:0} us{calls}{cache}"));
        if (measured)
        {
            if (!results.TryGetValue((side, kind), out var list))
            {
                results[(side, kind)] = list = [];
            }

            list.Add(result);
        }
    }
}
