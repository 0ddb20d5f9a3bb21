using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Fills one etcd member (fsync on) with live sessions through the store API and measures load and commit
/// latency at each checkpoint (1k, 10k, 100k by default), with etcd's lease count, database size and memory;
/// then lets every session expire with no cleanup job and times how long etcd takes to remove them all.
/// </summary>
internal static class ScaleBenchmark
{
    private const string Prefix = "scale/";
    private const double P99Target = 2.0;

    public static async Task<int> RunAsync(BenchArguments args)
    {
        var checkpoints = args.Ints("checkpoints", "1000,10000,100000");
        var idle = TimeSpan.FromSeconds(args.Int("idle", 180));
        var samples = args.Int("samples", 2000);
        var concurrency = args.Int("concurrency", 16);
        var docs = BenchDoc.DocsDirectory(args);
        var started = DateTimeOffset.UtcNow;

        await using var scaled = await Member.StartAsync(idle);
        var etcd = scaled.Etcd;
        var raw = scaled.Raw;
        Console.WriteLine($"etcd {etcd.ClientUrl} (fsync on); idle timeout {idle.TotalSeconds:0} s; {concurrency} concurrent callers; " +
            $"{samples:N0} loads and commits per checkpoint, in {Rounds.Count} rounds interleaved with a reference member holding {checkpoints[0]:N0} sessions.");

        var rows = new List<string>();
        var p99s = new List<(int Sessions, double Load, double Commit, double RefLoad, double RefCommit)>();
        var fill = Stopwatch.StartNew();
        var firstWrite = DateTimeOffset.UtcNow;
        // A second, small member measured in the same rounds: drift on the machine hits both alike, so the
        // ratio says what the size of the filled member costs.
        await using (var reference = await Member.StartAsync(idle))
        {
            reference.Secrets.AddRange(await FillAsync(reference.Store, idle, checkpoints[0], concurrency));
            foreach (var checkpoint in checkpoints)
            {
                var batch = Stopwatch.StartNew();
                var before = scaled.Secrets.Count;
                scaled.Secrets.AddRange(await FillAsync(scaled.Store, idle, checkpoint - before, concurrency));
                Console.WriteLine($"filled {before:N0} -> {scaled.Secrets.Count:N0} sessions at {(scaled.Secrets.Count - before) / batch.Elapsed.TotalSeconds:N0}/s");
                if (before == 0)
                {
                    // warm-up (JIT, connections), not kept
                    await MeasureAsync(scaled.Store, idle, scaled.Secrets, Math.Max(200, samples / 4), concurrency);
                    await MeasureAsync(reference.Store, idle, reference.Secrets, Math.Max(200, samples / 4), concurrency);
                }

                var (load, commit, refLoad, refCommit) = (new Rounds(), new Rounds(), new Rounds(), new Rounds());
                for (var round = 0; round < Rounds.Count; round++)
                {
                    var (l, c) = await MeasureAsync(scaled.Store, idle, scaled.Secrets, samples / Rounds.Count, concurrency);
                    var (rl, rc) = await MeasureAsync(reference.Store, idle, reference.Secrets, samples / Rounds.Count, concurrency);
                    load.Add(l);
                    commit.Add(c);
                    refLoad.Add(rl);
                    refCommit.Add(rc);
                }

                var live = await CountAsync(raw);
                var leases = (await raw.LeaseLeasesAsync(new LeaseLeasesRequest())).Leases.Count;
                var dbSize = (await raw.StatusAsync(new StatusRequest())).DbSize;
                var rss = MachineInfo.ResidentMiB(etcd.ProcessId);
                p99s.Add((checkpoint, load.P99, commit.P99, refLoad.P99, refCommit.P99));
                var row = string.Create(CultureInfo.InvariantCulture,
                    $"| {live:N0} | {load.P50:0.00} | {load.P99:0.00} | {commit.P50:0.00} | {commit.P99:0.00} " +
                    $"| {refLoad.P99:0.00} | {refCommit.P99:0.00} | {leases:N0} | {dbSize / 1048576.0:0.0} | {rss:0} |");
                Console.WriteLine(row);
                rows.Add(row);
            }
        }

        var fillSeconds = fill.Elapsed.TotalSeconds;
        var lastWrite = DateTimeOffset.UtcNow;
        Console.WriteLine("All writes done; waiting for etcd to expire every session (no cleanup job runs).");
        var (zeroAt, peakRemovalRate) = await WaitForExpiryAsync(raw, lastWrite + idle + TimeSpan.FromMinutes(10));
        var rssAfter = MachineInfo.ResidentMiB(etcd.ProcessId);
        var dbAfter = (await raw.StatusAsync(new StatusRequest())).DbSize;

        var markdown = Markdown(etcd.Version, started, idle, samples, concurrency, checkpoints, fillSeconds, rows, p99s,
            firstWrite, lastWrite, zeroAt, peakRemovalRate, dbAfter, rssAfter, out var pass);
        Console.WriteLine();
        Console.WriteLine(markdown);
        BenchDoc.Replace(docs, "scale", markdown);
        return pass ? 0 : 1;
    }

    private static async Task<List<string>> FillAsync(ISessionStore store, TimeSpan idle, int count, int concurrency)
    {
        var created = new string[Math.Max(0, count)];
        var next = -1;
        var profile = new string('p', 200);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < created.Length; i = Interlocked.Increment(ref next))
            {
                var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
                var session = store.Create(secret, idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
                session.SetString("user", "user-" + i.ToString(CultureInfo.InvariantCulture));
                session.SetInt32("count", 0);
                session.SetString("profile", profile);
                await session.CommitAsync();
                created[i] = secret;
            }
        })));
        return [.. created];
    }

    /// <summary>Times LoadAsync, then a one-value change and CommitAsync, on sessions picked at random.</summary>
    private static async Task<(List<double> Load, List<double> Commit)> MeasureAsync(ISessionStore store, TimeSpan idle, List<string> secrets, int samples, int concurrency)
    {
        var load = new List<double>();
        var commit = new List<double>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var myLoad = new List<double>();
            var myCommit = new List<double>();
            while (Interlocked.Increment(ref next) < samples)
            {
                var secret = secrets[Random.Shared.Next(secrets.Count)];
                var session = store.Create(secret, idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
                var t0 = Stopwatch.GetTimestamp();
                await session.LoadAsync();
                myLoad.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                session.SetInt32("count", (session.GetInt32("count") ?? 0) + 1);
                t0 = Stopwatch.GetTimestamp();
                await session.CommitAsync();
                myCommit.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }

            lock (load)
            {
                load.AddRange(myLoad);
                commit.AddRange(myCommit);
            }
        })));
        return (load, commit);
    }

    private static async Task<long> CountAsync(EtcdClient raw)
    {
        var prefix = Encoding.UTF8.GetBytes(Prefix);
        var end = (byte[])prefix.Clone();
        end[^1]++;
        var response = await raw.GetAsync(new RangeRequest
        {
            Key = ByteString.CopyFrom(prefix),
            RangeEnd = ByteString.CopyFrom(end),
            CountOnly = true,
        });
        return response.Count;
    }

    /// <summary>Polls the session count once a second until it is zero; returns when, and the fastest removal seen.</summary>
    private static async Task<(DateTimeOffset? ZeroAt, double PeakPerSecond)> WaitForExpiryAsync(EtcdClient raw, DateTimeOffset giveUpAt)
    {
        var previous = await CountAsync(raw);
        var peak = 0.0;
        var lastPrint = DateTimeOffset.MinValue;
        while (DateTimeOffset.UtcNow < giveUpAt)
        {
            var t0 = Stopwatch.GetTimestamp();
            await Task.Delay(1000);
            var count = await CountAsync(raw);
            peak = Math.Max(peak, (previous - count) / Stopwatch.GetElapsedTime(t0).TotalSeconds);
            previous = count;
            if (count == 0)
            {
                return (DateTimeOffset.UtcNow, peak);
            }

            if (DateTimeOffset.UtcNow - lastPrint > TimeSpan.FromSeconds(15))
            {
                var leases = (await raw.LeaseLeasesAsync(new LeaseLeasesRequest())).Leases.Count;
                Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {count:N0} sessions and {leases:N0} leases left");
                lastPrint = DateTimeOffset.UtcNow;
            }
        }

        return (null, peak);
    }

    private static string Markdown(string etcdVersion, DateTimeOffset started, TimeSpan idle, int samples, int concurrency, int[] checkpoints,
        double fillSeconds, List<string> rows, List<(int Sessions, double Load, double Commit, double RefLoad, double RefCommit)> p99s,
        DateTimeOffset firstWrite, DateTimeOffset lastWrite, DateTimeOffset? zeroAt, double peakRemovalRate, long dbAfter, double rssAfter, out bool pass)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (checkpoints[^1] < 100_000)
        {
            sb.AppendLine(c, $"**Smoke run** ({checkpoints[^1]:N0} sessions instead of 100,000): placeholder numbers, not for citing.");
            sb.AppendLine();
        }

        sb.AppendLine(c, $"Measured {started:yyyy-MM-dd HH:mm} UTC on: {MachineInfo.Describe(etcdVersion)}.");
        sb.AppendLine(c, $"One etcd member, fsync on; sessions of about 300 bytes written through the store API by {concurrency} concurrent callers; " +
            $"idle timeout {idle.TotalSeconds:0} s; at each checkpoint {samples:N0} loads and {samples:N0} one-value commits of random live sessions, {concurrency} concurrent callers, " +
            $"in {Rounds.Count} rounds interleaved with the same on a reference member (fsync on, same disk) that holds {checkpoints[0]:N0} sessions throughout; " +
            $"p50 over all samples, p99 the median of the rounds' p99s (one spike on a shared machine moves one round, not the result). " +
            $"Filling {checkpoints[^1]:N0} sessions (with the measurements) took {fillSeconds:0} s.");
        sb.AppendLine();
        sb.AppendLine(c, $"| live sessions | load p50 ms | load p99 ms | commit p50 ms | commit p99 ms | reference ({checkpoints[0]:N0}): load p99 ms | reference: commit p99 ms | etcd leases | etcd db size MiB | etcd RSS MiB |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            sb.AppendLine(row);
        }

        sb.AppendLine();
        var first = p99s[0];
        var last = p99s[^1];
        var loadRatio = last.Load / last.RefLoad;
        var commitRatio = last.Commit / last.RefCommit;
        pass = loadRatio <= P99Target && commitRatio <= P99Target && zeroAt is not null;
        sb.AppendLine(c, $"- Load p99 at {last.Sessions:N0} within {P99Target}x of p99 at {first.Sessions:N0} (the reference, same rounds): **{(loadRatio <= P99Target ? "PASS" : "FAIL")}** ({loadRatio:0.00}x; against the first row, measured earlier: {last.Load / first.Load:0.00}x)");
        sb.AppendLine(c, $"- Commit p99 at {last.Sessions:N0} within {P99Target}x of p99 at {first.Sessions:N0} (the reference, same rounds): **{(commitRatio <= P99Target ? "PASS" : "FAIL")}** ({commitRatio:0.00}x; against the first row: {last.Commit / first.Commit:0.00}x)");
        if (zeroAt is { } zero)
        {
            var lastDeadline = lastWrite + idle;
            sb.AppendLine(c, $"- Expiry with no cleanup job: the first sessions were due at {(firstWrite + idle):HH:mm:ss}, the last at {lastDeadline:HH:mm:ss}; " +
                $"etcd held none at {zero:HH:mm:ss}, {(zero - lastDeadline).TotalSeconds:0} s after the last deadline " +
                $"({(zero - (firstWrite + idle)).TotalSeconds:0} s from the first). Fastest removal seen: {peakRemovalRate:N0} sessions/s. " +
                $"Afterwards: etcd db size {dbAfter / 1048576.0:0.0} MiB (no compaction ran), RSS {rssAfter:0} MiB. **PASS**");
        }
        else
        {
            sb.AppendLine("- Expiry with no cleanup job: sessions were still in etcd 10 minutes after the last deadline. **FAIL**");
        }

        return sb.ToString();
    }

    /// <summary>One throwaway etcd member with a store on it and the secrets of the sessions written there.</summary>
    private sealed class Member : IAsyncDisposable
    {
        private readonly IDisposable _guard;
        private readonly ServiceProvider _services;

        private Member(EtcdMember etcd, ServiceProvider services)
        {
            Etcd = etcd;
            _guard = ChildProcess.KillOnExit(etcd.ProcessId);
            _services = services;
            Store = services.GetRequiredService<ISessionStore>();
            Raw = new EtcdClient(etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        }

        public EtcdMember Etcd { get; }

        public EtcdClient Raw { get; }

        public ISessionStore Store { get; }

        public List<string> Secrets { get; } = [];

        public static async Task<Member> StartAsync(TimeSpan idle)
        {
            var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
            var services = new ServiceCollection();
            services.AddEtcdSession(o =>
            {
                o.Endpoints = etcd.ClientUrl;
                o.KeyPrefix = Prefix;
                o.IdleTimeout = idle;
            });
            return new Member(etcd, services.BuildServiceProvider());
        }

        public async ValueTask DisposeAsync()
        {
            Raw.Dispose();
            await _services.DisposeAsync();
            _guard.Dispose();
            await Etcd.DisposeAsync();
        }
    }

    /// <summary>Latencies of one kind of call, kept per round.</summary>
    private sealed class Rounds
    {
        public const int Count = 4;

        private readonly List<List<double>> _rounds = [];

        public double P50 => Percentiles.Of(_rounds.SelectMany(r => r).ToArray(), 50);

        public double P99 => Percentiles.Median(_rounds.Select(r => Percentiles.Of(r, 99)));

        public void Add(List<double> round) => _rounds.Add(round);
    }
}
