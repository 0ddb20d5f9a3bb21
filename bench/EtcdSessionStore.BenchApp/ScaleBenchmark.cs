using System.Diagnostics;
using System.Globalization;
using Etcdserverpb;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Fills one etcd member (fsync on) with live sessions, written in bulk in the store's format, and at each
/// checkpoint (1k, 10k, 100k, 1M by default) measures the store's load and commit latency against a reference
/// member that holds the first checkpoint's count, in the same rounds; with the fill time, etcd's lease count,
/// database size and memory, this process's memory (the stores run in it) and the near cache's hit rate. Then it
/// lets every session expire with no cleanup job and times how long etcd takes to remove them all.
/// </summary>
internal static class ScaleBenchmark
{
    public static async Task<int> RunAsync(BenchArguments args)
    {
        var settings = args.WithPrefix(BenchServer.SettingsSection + ":");
        var sizeLimit = settings.TryGetValue(BenchServer.SettingsSection + ":NearCache:SizeLimit", out var limit)
            ? long.Parse(limit, CultureInfo.InvariantCulture)
            : ScaleRun.DefaultNearCacheSizeLimit;
        var run = new ScaleRun(args.Ints("checkpoints", "1000,10000,100000,1000000"), TimeSpan.FromSeconds(args.Int("idle", 420)),
            args.Int("samples", 8000), args.Int("concurrency", 16), args.Int("fill-concurrency", 16), sizeLimit, DateTimeOffset.UtcNow,
            TimeSpan.FromSeconds(args.Int("settle", 30)));
        var docs = BenchDoc.DocsDirectory(args);

        await using var scaled = await ScaleMember.StartAsync(run.Idle, run.FillConcurrency, settings);
        Console.WriteLine($"etcd {scaled.Etcd.ClientUrl} (fsync on); idle timeout {run.Idle.TotalSeconds:0} s; {run.Concurrency} concurrent callers; " +
            $"{run.Samples:N0} loads and commits per checkpoint, in {LatencyRounds.Count} rounds interleaved with a reference member holding {run.Checkpoints[0]:N0} sessions.");

        var rows = new List<ScaleCheckpoint>();
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) }; // each request sends its own cookie
        var firstWrite = DateTimeOffset.UtcNow;
        // A second, small member measured in the same rounds: drift on the machine hits both alike, so the
        // ratio says what the size of the filled member costs.
        await using (var reference = await ScaleMember.StartAsync(run.Idle, run.FillConcurrency, settings))
        {
            await reference.Fill.FillAsync(reference.Secrets, run.Checkpoints[0]);
            await BulkSessionFill.VerifyAsync(reference.Store, reference.Secrets, run.Idle);
            foreach (var checkpoint in run.Checkpoints)
            {
                var before = scaled.Secrets.Count;
                var fill = Stopwatch.StartNew();
                await scaled.Fill.FillAsync(scaled.Secrets, checkpoint);
                var fillSeconds = fill.Elapsed.TotalSeconds;
                Console.WriteLine($"filled {before:N0} -> {scaled.Secrets.Count:N0} sessions in {fillSeconds:0.0} s ({(scaled.Secrets.Count - before) / Math.Max(fillSeconds, 1e-9):N0}/s)");
                // etcd has just taken a burst of writes at full speed; the question is what holding the sessions
                // costs, so the samples start after a pause (--settle, seconds).
                await Task.Delay(run.Settle);
                if (before == 0)
                {
                    await BulkSessionFill.VerifyAsync(scaled.Store, scaled.Secrets, run.Idle);
                    // warm-up (JIT, connections), not kept
                    await MeasureAsync(scaled, run, Math.Max(200, run.Samples / 4));
                    await MeasureAsync(reference, run, Math.Max(200, run.Samples / 4));
                }

                var (load, commit, refLoad, refCommit) = (new LatencyRounds(), new LatencyRounds(), new LatencyRounds(), new LatencyRounds());
                var cacheBefore = scaled.NearCache.Snapshot();
                for (var round = 0; round < LatencyRounds.Count; round++)
                {
                    var (l, c) = await MeasureAsync(scaled, run, run.Samples / LatencyRounds.Count);
                    var (rl, rc) = await MeasureAsync(reference, run, run.Samples / LatencyRounds.Count);
                    load.Add(l);
                    commit.Add(c);
                    refLoad.Add(rl);
                    refCommit.Add(rc);
                }

                // The same kind of sessions through the middleware, where the near cache answers: a client writes, then
                // reads with the token the write gave it (the read should be a hit, whatever the count).
                var (visitRead, refVisitRead) = (new LatencyRounds(), new LatencyRounds());
                if (before == 0)
                {
                    await MeasureVisitsAsync(http, scaled, run, Math.Max(200, run.Samples / 4)); // warm-up, not kept
                    await MeasureVisitsAsync(http, reference, run, Math.Max(200, run.Samples / 4));
                }

                cacheBefore = scaled.NearCache.Snapshot();
                for (var round = 0; round < LatencyRounds.Count; round++)
                {
                    visitRead.Add(await MeasureVisitsAsync(http, scaled, run, run.Samples / LatencyRounds.Count));
                    refVisitRead.Add(await MeasureVisitsAsync(http, reference, run, run.Samples / LatencyRounds.Count));
                }

                var cache = scaled.NearCache.Snapshot();
                var row = new ScaleCheckpoint(checkpoint, await ExpiryObserver.CountAsync(scaled.Raw, ScaleMember.SessionsPrefix), fillSeconds, scaled.Secrets.Count - before,
                    load, commit, refLoad, refCommit, visitRead, refVisitRead,
                    (await scaled.Raw.LeaseLeasesAsync(new LeaseLeasesRequest())).Leases.Count,
                    (await scaled.Raw.StatusAsync(new StatusRequest())).DbSize,
                    MachineInfo.ResidentMiB(scaled.Etcd.ProcessId),
                    GC.GetTotalMemory(forceFullCollection: true),
                    Environment.WorkingSet,
                    cache.HitRateTextSince(cacheBefore), cache.SizeBytes, cache.Entries);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.LiveSessions:N0} live: load p99 {load.P99:0.00} ms (reference {refLoad.P99:0.00}), commit p99 {commit.P99:0.00} ms (reference {refCommit.P99:0.00}); " +
                    $"read after write over HTTP p99 {visitRead.P99:0.00} ms (reference {refVisitRead.P99:0.00}); " +
                    $"etcd db {row.EtcdDbBytes / 1048576.0:0.0} MiB, RSS {row.EtcdRssMiB:0} MiB; app heap {row.AppHeapBytes / 1048576.0:0.0} MiB, " +
                    $"working set {row.AppWorkingSetBytes / 1048576.0:0} MiB; near-cache hits {row.NearCacheHitRate} " +
                    $"(misses {cache.Misses - cacheBefore.Misses:N0}, bypasses {cache.Bypasses - cacheBefore.Bypasses:N0})"));
                rows.Add(row);
            }
        }

        var lastWrite = DateTimeOffset.UtcNow;
        Console.WriteLine("All writes done; waiting for etcd to expire every session (no cleanup job runs).");
        var (zeroAt, peakRemovalRate) = await ExpiryObserver.WaitForZeroAsync(scaled.Raw, ScaleMember.SessionsPrefix, lastWrite + run.Idle + TimeSpan.FromMinutes(10));
        var expiry = new ScaleExpiry(firstWrite, lastWrite, zeroAt, peakRemovalRate,
            (await scaled.Raw.StatusAsync(new StatusRequest())).DbSize, MachineInfo.ResidentMiB(scaled.Etcd.ProcessId));

        var markdown = ScaleReport.Markdown(scaled.Etcd.Version, run, rows, expiry, out var pass);
        Console.WriteLine();
        Console.WriteLine(markdown);
        BenchDoc.Replace(docs, "scale", markdown);
        return pass ? 0 : 1;
    }

    /// <summary>
    /// Visits of sessions picked at random, over HTTP through <c>UseEtcdSession</c>: <c>POST /write</c> with the session's
    /// cookie, then <c>GET /read</c> with the token that response set, as a browser does. Times the read.
    /// </summary>
    private static async Task<List<double>> MeasureVisitsAsync(HttpClient http, ScaleMember member, ScaleRun run, int samples)
    {
        var reads = new List<double>();
        var next = -1;
        var (write, read) = (new Uri(member.Address, "write"), new Uri(member.Address, "read"));
        await Task.WhenAll(Enumerable.Range(0, run.Concurrency).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (Interlocked.Increment(ref next) < samples)
            {
                using var writeRequest = new HttpRequestMessage(HttpMethod.Post, write);
                writeRequest.Headers.Add("Cookie", member.CookieFor(member.Secrets.Random()));
                using var written = await http.SendAsync(writeRequest);
                written.EnsureSuccessStatusCode();
                var renewed = written.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
                using var readRequest = new HttpRequestMessage(HttpMethod.Get, read);
                readRequest.Headers.Add("Cookie", renewed);
                var t0 = Stopwatch.GetTimestamp();
                using var answer = await http.SendAsync(readRequest);
                answer.EnsureSuccessStatusCode();
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }

            lock (reads)
            {
                reads.AddRange(mine);
            }
        })));
        return reads;
    }

    /// <summary>Times LoadAsync, then a one-value change and CommitAsync, on sessions picked at random.</summary>
    private static async Task<(List<double> Load, List<double> Commit)> MeasureAsync(ScaleMember member, ScaleRun run, int samples)
    {
        var load = new List<double>();
        var commit = new List<double>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, run.Concurrency).Select(_ => Task.Run(async () =>
        {
            var myLoad = new List<double>();
            var myCommit = new List<double>();
            while (Interlocked.Increment(ref next) < samples)
            {
                var session = member.Store.Create(member.Secrets.Random(), run.Idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
                var t0 = Stopwatch.GetTimestamp();
                await session.LoadAsync();
                myLoad.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                session.SetInt32(BenchServer.CountKey, (session.GetInt32(BenchServer.CountKey) ?? 0) + 1);
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
}
