using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using dotnet_etcd;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Concurrent writers on one session: 1, 4, 16 and 64 clients that each keep adding a key of their own to the same
/// session through the real middleware on Kestrel, over one etcd member (fsync on). Reports acknowledged writes per
/// second, p50/p99 latency, etcd transactions per acknowledged write, and lost writes (acknowledged keys that are
/// not in the session afterwards; must be 0).
/// </summary>
internal static class ContentionBenchmark
{
    public static async Task<int> RunAsync(BenchArguments args)
    {
        var writers = args.Ints("writers", "1,4,16,64");
        var seconds = args.Int("duration", 5);
        var docs = BenchDoc.DocsDirectory(args);
        await using var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
        using var guard = ChildProcess.KillOnExit(etcd.ProcessId);
        var calls = new TxnCounter();
        using var client = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [calls]);
        await using var app = await StartAppAsync(client);
        var url = app.Urls.Single();
        Console.WriteLine($"etcd {etcd.Version} at {etcd.ClientUrl} (fsync on); app {url}; {seconds} s per step.");

        var rows = new List<string>();
        var lostInAll = 0;
        foreach (var count in writers)
        {
            var row = await MeasureAsync(url, count, TimeSpan.FromSeconds(seconds), calls);
            lostInAll += row.Lost;
            Console.WriteLine($"{count,3} writers: {row.PerSecond,8:N0} writes/s, p50 {row.P50,6:0.0} ms, p99 {row.P99,6:0.0} ms, " +
                $"{row.TxnsPerWrite:0.00} txn/write, {row.Refused} refused, {row.Lost} lost");
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {count} | {row.PerSecond:N0} | {row.P50:0.0} | {row.P99:0.0} | {row.TxnsPerWrite:0.00} | {row.Refused} | {row.Lost} |"));
        }

        var markdown = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTimeOffset.UtcNow:yyyy-MM-dd} on {MachineInfo.Describe(etcd.Version)}; one member, fsync on; {seconds} s per row.")
            .AppendLine()
            .AppendLine("| writers on one session | acknowledged writes/s | p50 ms | p99 ms | etcd txns per acknowledged write | refused | lost |")
            .AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(r => markdown.AppendLine(r));
        BenchDoc.Replace(docs, "contention", markdown.ToString());
        Console.WriteLine(lostInAll == 0 ? "PASS: no acknowledged write lost." : $"FAIL: {lostInAll} acknowledged writes lost.");
        return lostInAll == 0 ? 0 : 1;
    }

    private static async Task<Row> MeasureAsync(string url, int count, TimeSpan duration, TxnCounter calls)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url) };
        using var seed = await http.PostAsync("/write?key=seed", null);
        var cookie = seed.Headers.GetValues("Set-Cookie").First().Split(';')[0];
        var acknowledged = new ConcurrentBag<string>();
        var latencies = new ConcurrentBag<double>();
        var refused = 0;
        calls.Reset();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(writer => Task.Run(async () =>
        {
            for (var n = 0; clock.Elapsed < duration; n++)
            {
                var key = $"w{writer}-{n}";
                using var request = new HttpRequestMessage(HttpMethod.Post, "/write?key=" + key);
                request.Headers.Add("Cookie", cookie);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (response.IsSuccessStatusCode)
                {
                    acknowledged.Add(key);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        })));
        var elapsed = clock.Elapsed;
        var transactions = calls.Transactions;

        using var read = new HttpRequestMessage(HttpMethod.Get, "/keys");
        read.Headers.Add("Cookie", cookie);
        using var stored = await http.SendAsync(read);
        var keys = (await stored.Content.ReadAsStringAsync()).Split('\n').ToHashSet(StringComparer.Ordinal);
        var lost = acknowledged.Count(k => !keys.Contains(k));
        var sorted = latencies.ToArray();
        return new Row(acknowledged.Count / elapsed.TotalSeconds, Percentiles.Of(sorted, 50), Percentiles.Of(sorted, 99),
            acknowledged.IsEmpty ? 0 : (double)transactions / acknowledged.Count, refused, lost);
    }

    private static async Task<WebApplication> StartAppAsync(EtcdClient client)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // A large session grows with every key: allow it, the question here is contention.
        builder.Services.AddEtcdSession(o =>
        {
            o.KeyPrefix = "contention/";
            o.ClientFactory = _ => client;
            o.MaxSessionBytes = 1024 * 1024;
        });
        var app = builder.Build();
        app.UseEtcdSession();
        app.MapPost("/write", (HttpContext context) =>
        {
            context.Session.SetString(context.Request.Query["key"]!, "v");
            return "ok";
        });
        app.MapGet("/keys", (HttpContext context) => string.Join('\n', context.Session.Keys));
        await app.StartAsync();
        return app;
    }

    private sealed record Row(double PerSecond, double P50, double P99, double TxnsPerWrite, int Refused, int Lost);

    /// <summary>Counts the transactions the store sends to etcd.</summary>
    private sealed class TxnCounter : Interceptor
    {
        private int _transactions;

        public int Transactions => Volatile.Read(ref _transactions);

        public void Reset() => Interlocked.Exchange(ref _transactions, 0);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (context.Method.Name == "Txn")
            {
                Interlocked.Increment(ref _transactions);
            }

            return continuation(request, context);
        }
    }
}
