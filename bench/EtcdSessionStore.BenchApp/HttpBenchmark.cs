using System.Globalization;
using System.Net;
using System.Text;
using dotnet_etcd;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The side-by-side HTTP benchmark: the same app as (a) this store, (b) the stock session over Redis, (c) the
/// stock session over the in-memory cache, under the same wrk load, rounds interleaved; plus etcd's raw
/// put and range throughput in the same run. Prints the table and the targets, and writes them with a chart
/// into docs/benchmarks.md.
/// </summary>
internal static class HttpBenchmark
{
    private const double ReadTarget = 1.5;
    private const double WriteTarget = 0.5;

    private static readonly (string Key, string Label)[] Sides =
    [
        ("etcd", "this store (etcd)"),
        ("redis", "stock session over Redis"),
        ("memory", "stock session in memory (ceiling)"),
    ];

    private static readonly (string Key, string Method, string Path)[] Kinds =
    [
        ("read", "GET", "read"),
        ("write", "POST", "write"),
    ];

    /// <summary>etcd alone, per request kind: the calls the store makes per request, and etcd's plain read and put.</summary>
    private static readonly Dictionary<string, (string Side, RawEtcdLoop.Operation Operation)[]> RawOperations = new()
    {
        ["read"] = [("raw", RawEtcdLoop.Operation.Range), ("raw2", RawEtcdLoop.Operation.SerializableRange)],
        ["write"] = [("raw", RawEtcdLoop.Operation.RangeThenTxnOnSecondLease), ("raw2", RawEtcdLoop.Operation.Put)],
    };

    public static async Task<int> RunAsync(BenchArguments args)
    {
        var seconds = args.Int("duration", 10);
        var rounds = args.Int("rounds", 3);
        var connections = args.Int("connections", 16);
        var sessions = args.Int("sessions", 1024);
        var warmup = args.Int("warmup", Math.Min(5, seconds));
        var docs = BenchDoc.DocsDirectory(args);
        var work = Directory.CreateTempSubdirectory("session-bench-");
        var started = DateTimeOffset.UtcNow;

        await using var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
        using var etcdGuard = ChildProcess.KillOnExit(etcd.ProcessId);
        var (redis, redisEndpoint) = await ChildProcess.StartRedisAsync();
        await using var redisProcess = redis;
        var apps = new Dictionary<string, (ChildProcess Process, Uri Address, string Cookies)>();
        try
        {
            foreach (var (key, _) in Sides)
            {
                var (process, address) = await ChildProcess.StartAppAsync(key, "--etcd", etcd.ClientUrl, "--redis", redisEndpoint);
                var cookies = Path.Combine(work.FullName, $"cookies-{key}.txt");
                apps[key] = (process, address, cookies);
                await SeedAsync(address, cookies, sessions, connections);
            }

            using var raw = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
            await RawEtcdLoop.SeedAsync(raw, 300);
            Console.WriteLine($"{sessions:N0} sessions seeded per side; {connections} connections, {WrkRunner.Threads} wrk threads, " +
                $"{rounds} rounds of {seconds} s per side and request kind, interleaved; warm-up {warmup} s.");

            var results = new Dictionary<(string Side, string Kind), List<LoadResult>>();
            for (var round = 0; round <= rounds; round++)
            {
                var measured = round > 0; // round 0 warms every side up (JIT, connection pools) and is not kept
                foreach (var (kind, method, path) in Kinds)
                {
                    foreach (var (side, _) in Sides)
                    {
                        var app = apps[side];
                        var server = side switch { "etcd" => etcd.ProcessId, "redis" => redis.Id, _ => (int?)null };
                        var (appCpu, serverCpu) = (CpuTime(app.Process.Id), CpuTime(server));
                        var result = await WrkRunner.RunAsync(new Uri(app.Address, path), method, app.Cookies, connections, measured ? seconds : warmup);
                        result = result with
                        {
                            AppCpuUs = (CpuTime(app.Process.Id) - appCpu) * 1e6 / Math.Max(1, result.Operations),
                            ServerCpuUs = server is null ? double.NaN : (CpuTime(server) - serverCpu) * 1e6 / Math.Max(1, result.Operations),
                        };
                        Record(results, side, kind, result, measured, round);
                    }

                    foreach (var (rawSide, operation) in RawOperations[kind])
                    {
                        var (driverCpu, etcdCpu) = (CpuTime(Environment.ProcessId), CpuTime(etcd.ProcessId));
                        var rawResult = await RawEtcdLoop.RunAsync(raw, operation, 300, connections, measured ? seconds : warmup);
                        rawResult = rawResult with
                        {
                            AppCpuUs = (CpuTime(Environment.ProcessId) - driverCpu) * 1e6 / Math.Max(1, rawResult.Operations),
                            ServerCpuUs = (CpuTime(etcd.ProcessId) - etcdCpu) * 1e6 / Math.Max(1, rawResult.Operations),
                        };
                        Record(results, rawSide, kind, rawResult, measured, round);
                    }
                }
            }

            var summary = results.ToDictionary(r => r.Key, r => LoadResult.Median(r.Value));
            var markdown = Markdown(summary, etcd.Version, started, seconds, rounds, connections, sessions, out var pass);
            Console.WriteLine();
            Console.WriteLine(markdown);
            HttpChart.Write(Path.Combine(docs, "benchmarks-http.png"), summary, [.. Sides, ("raw", "etcd alone: the store's calls without the app")]);
            BenchDoc.Replace(docs, "http", markdown);
            return pass ? 0 : 1;
        }
        finally
        {
            foreach (var app in apps.Values)
            {
                await app.Process.DisposeAsync();
            }

            work.Delete(recursive: true);
        }
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
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(measured ? $"round {round}" : "warm-up"),-8} {kind,-5} {side,-6} {result.PerSecond,9:N0}/s  p50 {result.P50Ms,6:0.00} ms  p99 {result.P99Ms,7:0.00} ms  errors {result.Errors}  CPU/request: app {result.AppCpuUs:0} us, server {result.ServerCpuUs:0} us"));
        if (measured)
        {
            if (!results.TryGetValue((side, kind), out var list))
            {
                results[(side, kind)] = list = [];
            }

            list.Add(result);
        }
    }

    /// <summary>Creates one session per line of the cookie file, each through the app's own /seed endpoint.</summary>
    private static async Task SeedAsync(Uri address, string cookieFile, int sessions, int concurrency)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = concurrency });
        var cookies = new string[sessions];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < sessions; i = Interlocked.Increment(ref next))
            {
                using var response = await http.GetAsync(new Uri(address, "seed"));
                response.EnsureSuccessStatusCode();
                var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.First() : null;
                cookies[i] = setCookie?.Split(';')[0] ?? throw new InvalidOperationException($"{address}seed set no cookie.");
            }
        }));
        await File.WriteAllLinesAsync(cookieFile, cookies);
        using var check = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "read"));
        check.Headers.Add("Cookie", cookies[0]);
        using var checkResponse = await http.SendAsync(check);
        var body = await checkResponse.Content.ReadAsStringAsync();
        if (checkResponse.StatusCode != HttpStatusCode.OK || !body.StartsWith("user-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{address}read did not see a seeded session: {(int)checkResponse.StatusCode} '{body}'.");
        }
    }

    private static string Markdown(Dictionary<(string Side, string Kind), LoadResult> r, string etcdVersion, DateTimeOffset started,
        int seconds, int rounds, int connections, int sessions, out bool pass)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (seconds < 10 || rounds < 3)
        {
            sb.AppendLine("**Smoke run** (shorter than the defaults of 3 rounds of 10 s): placeholder numbers, not for citing.");
            sb.AppendLine();
        }

        sb.AppendLine(c, $"Measured {started:yyyy-MM-dd HH:mm} UTC on: {MachineInfo.Describe(etcdVersion)}; {MachineInfo.RedisVersion()}; {WrkRunner.Version()}.");
        sb.AppendLine(c, $"{connections} connections ({WrkRunner.Threads} wrk threads), {sessions:N0} pre-made sessions per side, {rounds} interleaved rounds of {seconds} s per cell; medians over rounds.");
        sb.AppendLine();
        sb.AppendLine("| side | read req/s | read p50 ms | read p99 ms | write req/s | write p50 ms | write p99 ms | failed requests |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (side, label) in Sides)
        {
            var read = r[(side, "read")];
            var write = r[(side, "write")];
            sb.AppendLine(c, $"| {label} | {read.PerSecond:N0} | {read.P50Ms:0.00} | {read.P99Ms:0.00} | {write.PerSecond:N0} | {write.P50Ms:0.00} | {write.P99Ms:0.00} | {read.Errors + write.Errors} |");
        }

        foreach (var (side, label) in new[]
        {
            ("raw", $"raw etcd, {connections} callers, the store's calls without the app: range / range then txn on a per-second lease"),
            ("raw2", $"raw etcd, {connections} callers: serializable range / plain put"),
        })
        {
            var read = r[(side, "read")];
            var write = r[(side, "write")];
            sb.AppendLine(c, $"| {label} | {read.PerSecond:N0} | {read.P50Ms:0.00} | {read.P99Ms:0.00} | {write.PerSecond:N0} | {write.P50Ms:0.00} | {write.P99Ms:0.00} | {read.Errors + write.Errors} |");
        }
        sb.AppendLine();

        static string Cpu(double us) => double.IsNaN(us) ? "-" : us.ToString("0", CultureInfo.InvariantCulture);
        double Ratio(string a, string b, string kind) => r[(a, kind)].PerSecond / r[(b, kind)].PerSecond;
        var readVsRedis = Ratio("etcd", "redis", "read");
        var writeVsRedis = Ratio("etcd", "redis", "write");
        var failed = Sides.Sum(s => r[(s.Key, "read")].Errors + r[(s.Key, "write")].Errors);
        pass = readVsRedis >= ReadTarget && writeVsRedis >= WriteTarget && failed == 0;
        sb.AppendLine("CPU time per request (microseconds; all processes share the same cores, so this is what limits throughput here):");
        sb.AppendLine();
        sb.AppendLine("| side | read: app (or client) | read: storage server | write: app (or client) | write: storage server |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (side, label) in Sides.Concat([("raw", "raw etcd (client = the driver): range / range then txn on a per-second lease"), ("raw2", "raw etcd: serializable range / plain put")]))
        {
            var read = r[(side, "read")];
            var write = r[(side, "write")];
            sb.AppendLine(c, $"| {label} | {read.AppCpuUs:0} | {Cpu(read.ServerCpuUs)} | {write.AppCpuUs:0} | {Cpu(write.ServerCpuUs)} |");
        }

        sb.AppendLine();
        sb.AppendLine("| ratio (requests/s) | read | write |");
        sb.AppendLine("|---|---:|---:|");
        sb.AppendLine(c, $"| etcd / Redis | {readVsRedis:0.00}x | {writeVsRedis:0.00}x |");
        sb.AppendLine(c, $"| etcd / in-memory | {Ratio("etcd", "memory", "read"):0.00}x | {Ratio("etcd", "memory", "write"):0.00}x |");
        sb.AppendLine(c, $"| etcd requests / the same etcd calls without the app | {Ratio("etcd", "raw", "read"):0.00}x | {Ratio("etcd", "raw", "write"):0.00}x |");
        sb.AppendLine(c, $"| etcd requests / plain etcd ops (serializable range; put) | {Ratio("etcd", "raw2", "read"):0.00}x | {Ratio("etcd", "raw2", "write"):0.00}x |");
        sb.AppendLine();
        sb.AppendLine(c, $"- Read path >= {ReadTarget}x Redis: **{(readVsRedis >= ReadTarget ? "PASS" : "FAIL")}** ({readVsRedis:0.00}x)");
        sb.AppendLine(c, $"- Write path >= {WriteTarget}x Redis: **{(writeVsRedis >= WriteTarget ? "PASS" : "FAIL")}** ({writeVsRedis:0.00}x)");
        sb.AppendLine(c, $"- No failed requests: **{(failed == 0 ? "PASS" : "FAIL")}** ({failed})");
        sb.AppendLine();
        sb.AppendLine("![Requests per second by side and request kind](benchmarks-http.png)");
        return sb.ToString();
    }
}
