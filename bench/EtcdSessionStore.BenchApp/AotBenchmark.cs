using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// samples/EtcdSessionStore.AotApp published with native AOT next to the same app under the JIT (a normal publish
/// run with <c>dotnet</c>), on one etcd member (fsync on). Each round starts each side as a fresh process and
/// measures: process start to the first 200 from <c>/counter</c>; resident memory after 1,000 requests; reads/s
/// (<c>GET /cart</c>) and writes/s (<c>GET /counter</c>) under wrk for a fixed time. Rounds interleave the sides
/// (AOT first in odd rounds, JIT first in even ones); the report shows medians and the ratio AOT/JIT, written into
/// docs/aot.md.
/// </summary>
internal static class AotBenchmark
{
    /// <summary>Sessions made during the 1,000 requests; wrk then cycles through them (none shared by two requests in flight).</summary>
    private const int Sessions = 256;

    private const int WarmRequests = 1000;

    public static async Task<int> RunAsync(BenchArguments args)
    {
        var native = Path.GetFullPath(args.String("native", ""));
        var jit = Path.GetFullPath(args.String("jit", ""));
        if (!File.Exists(native) || !File.Exists(jit))
        {
            Console.Error.WriteLine("aot needs --native PATH (the native AOT binary) and --jit PATH (the app's .dll from a normal publish).");
            return 2;
        }

        var loadAtStart = LoadAverage();
        var rounds = args.Int("rounds", 3);
        var seconds = args.Int("duration", 10);
        var connections = args.Int("connections", 16);
        var docs = BenchDoc.DocsDirectory(args);
        var work = Directory.CreateTempSubdirectory("session-aot-bench-");
        Side[] sides = [new("native AOT", native, []), new("JIT", "dotnet", [jit])];

        await using var etcd = await EtcdMember.StartSingleAsync("aot-bench", fsync: true);
        using var guard = ChildProcess.KillOnExit(etcd.ProcessId);
        Console.WriteLine($"etcd {etcd.Version} at {etcd.ClientUrl} (fsync on); {rounds} rounds, {seconds} s of wrk per request kind, {connections} connections.");
        try
        {
            var results = sides.ToDictionary(s => s.Name, _ => new List<Measurement>());
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var side in round % 2 == 1 ? sides : sides.Reverse())
                {
                    var cookies = Path.Combine(work.FullName, $"cookies-{round}-{results[side.Name].Count}.txt");
                    var result = await MeasureAsync(side, etcd.ClientUrl, $"aot-bench/{round}/{side.Name.Replace(' ', '-')}/", cookies, seconds, connections);
                    results[side.Name].Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round} {side.Name,-10} start-up {result.StartupMs,6:0} ms  RSS {result.ResidentMiB,6:0.0} MiB  reads {result.Reads.PerSecond,8:N0}/s  writes {result.Writes.PerSecond,7:N0}/s  errors {result.Reads.Errors + result.Writes.Errors}"));
                }
            }

            var errors = results.Values.SelectMany(r => r).Sum(r => r.Reads.Errors + r.Writes.Errors);
            var load = $"1-minute load average {loadAtStart} at the start, {LoadAverage()} at the end, on {Environment.ProcessorCount} cores";
            var markdown = Report(results[sides[0].Name], results[sides[1].Name], native, jit, etcd.Version, rounds, seconds, connections, errors, load);
            Console.WriteLine();
            Console.WriteLine(markdown);
            BenchDoc.Replace(docs, "aot", markdown, "aot.md");
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<Measurement> MeasureAsync(Side side, string etcdUrl, string prefix, string cookieFile, int seconds, int connections)
    {
        var port = ChildProcess.FreePort();
        var address = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        var clock = Stopwatch.StartNew();
        await using var app = ChildProcess.Start(side.File, [.. side.Arguments,
            "--urls", address.ToString().TrimEnd('/'),
            "--EtcdSession:Endpoints", etcdUrl,
            "--EtcdSession:KeyPrefix", prefix,
            "--Logging:LogLevel:Default", "Warning"]);
        var startup = await FirstOkAsync(new Uri(address, "counter"), clock);

        await WarmAsync(address, cookieFile, connections);
        var resident = MachineInfo.ResidentMiB(app.Id);

        var reads = await WrkRunner.RunAsync(new Uri(address, "cart"), "GET", cookieFile, connections, seconds);
        var writes = await WrkRunner.RunAsync(new Uri(address, "counter"), "GET", cookieFile, connections, seconds);
        return new Measurement(startup.TotalMilliseconds, resident, reads, writes);
    }

    /// <summary>Polls <paramref name="url"/> until it answers 200; the time since <paramref name="clock"/> started (the process start).</summary>
    private static async Task<TimeSpan> FirstOkAsync(Uri url, Stopwatch clock)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(5);
        }

        throw new InvalidOperationException($"{url} did not answer 200 within 60 s of the process start.");
    }

    /// <summary>
    /// 1,000 requests: <see cref="Sessions"/> that each start a session (their cookies go to <paramref name="cookieFile"/>
    /// for wrk), then the rest spread over those sessions, alternating a counter write and a cart read.
    /// </summary>
    private static async Task WarmAsync(Uri address, string cookieFile, int concurrency)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = concurrency });
        var cookies = new string[Sessions];
        await ForEachAsync(Sessions, concurrency, async i =>
        {
            using var response = await http.GetAsync(new Uri(address, "counter"));
            response.EnsureSuccessStatusCode();
            cookies[i] = response.Headers.TryGetValues("Set-Cookie", out var values)
                ? values.First().Split(';')[0]
                : throw new InvalidOperationException($"{address}counter set no cookie.");
        });
        await ForEachAsync(WarmRequests - Sessions, concurrency, async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, i % 2 == 0 ? "counter" : "cart"));
            request.Headers.Add("Cookie", cookies[i % Sessions]);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        });
        await File.WriteAllLinesAsync(cookieFile, cookies);
    }

    private static Task ForEachAsync(int count, int concurrency, Func<int, Task> body)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                await body(i);
            }
        }));
    }

    /// <summary>The machine's 1-minute load average (<c>/proc/loadavg</c>): how busy it was while the figures were taken.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static string Report(List<Measurement> aot, List<Measurement> jit, string native, string jitDll, string etcdVersion,
        int rounds, int seconds, int connections, long errors, string load)
    {
        var jitFolder = Path.GetDirectoryName(jitDll)!;
        var jitSize = Directory.EnumerateFiles(jitFolder, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".xml", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length);
        var rows = new (string Figure, Func<Measurement, double> Value, string Format)[]
        {
            ("start-up: process start to the first 200 (ms)", m => m.StartupMs, "N0"),
            ("memory: RSS after 1,000 requests (MiB)", m => m.ResidentMiB, "N1"),
            ("reads/s (`GET /cart`)", m => m.Reads.PerSecond, "N0"),
            ("writes/s (`GET /counter`)", m => m.Writes.PerSecond, "N0"),
            ("read p99 (ms)", m => m.Reads.P99Ms, "N2"),
        };

        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTimeOffset.UtcNow:yyyy-MM-dd} on {MachineInfo.Describe(etcdVersion)}; {WrkRunner.Version()}.")
            .AppendLine(CultureInfo.InvariantCulture, $"Medians of {rounds} interleaved rounds, each side a fresh process per round; wrk {seconds} s per request kind, {connections} connections, {Sessions} sessions; {errors} failed requests; {load}.")
            .AppendLine()
            .AppendLine("| figure | native AOT | JIT | AOT/JIT |")
            .AppendLine("|---|---:|---:|---:|");
        foreach (var (figure, value, format) in rows)
        {
            var (a, j) = (Percentiles.Median(aot.Select(value)), Percentiles.Median(jit.Select(value)));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {figure} | {a.ToString(format, CultureInfo.InvariantCulture)} | {j.ToString(format, CultureInfo.InvariantCulture)} | {a / j:0.00} |");
        }

        var nativeMiB = new FileInfo(native).Length / 1024.0 / 1024.0;
        var jitMiB = jitSize / 1024.0 / 1024.0;
        return text
            .AppendLine(CultureInfo.InvariantCulture, $"| size on disk (MiB): the native binary; the JIT publish without symbols, shared framework not counted | {nativeMiB:N1} | {jitMiB:N1} | {nativeMiB / jitMiB:0.00} |")
            .ToString();
    }

    private sealed record Side(string Name, string File, string[] Arguments);

    private sealed record Measurement(double StartupMs, double ResidentMiB, LoadResult Reads, LoadResult Writes);
}
