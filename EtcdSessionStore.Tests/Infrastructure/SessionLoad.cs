using System.Collections.Concurrent;
using System.Diagnostics;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// Concurrent session traffic for failover tests. Each worker owns its sessions and writes every item key
/// once, so "acknowledged" is unambiguous: an item whose write succeeded must be readable afterwards.
/// </summary>
public sealed class SessionLoad
{
    private readonly ConcurrentBag<(string Secret, string Key, string Value)> _acknowledged = [];
    private readonly ConcurrentBag<double> _latencies = [];
    private readonly ConcurrentBag<string> _errors = [];
    private readonly ConcurrentDictionary<int, int> _okPerSecond = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>One operation: open (or create) a session, add one item, commit. Returns the session's secret.</summary>
    public delegate Task<string> WriteItem(string? secret, string key, string value, CancellationToken cancellationToken);

    public IReadOnlyCollection<(string Secret, string Key, string Value)> Acknowledged => _acknowledged;

    public int Operations => _latencies.Count;

    public int Errors => _errors.Count;

    public TimeSpan Longest => TimeSpan.FromMilliseconds(_latencies.IsEmpty ? 0 : _latencies.Max());

    /// <summary>Successful operations in each second since the load started.</summary>
    public IReadOnlyDictionary<int, int> OkPerSecond => _okPerSecond;

    /// <summary>Runs <paramref name="workers"/> loops until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(int workers, WriteItem write, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w, write, stop))));

    /// <summary>Seconds since the load started: mark events (a kill, a freeze) against the per-second counts.</summary>
    public double Now => _clock.Elapsed.TotalSeconds;

    public string Report() =>
        $"operations {Operations}, errors {Errors}, longest {Longest.TotalMilliseconds:0} ms, p99 {Percentile(0.99):0} ms, median {Percentile(0.5):0} ms; " +
        $"ok/s: {string.Join(' ', _okPerSecond.OrderBy(p => p.Key).Select(p => $"{p.Key}s={p.Value}"))}" +
        (_errors.IsEmpty ? "" : $"; errors seen: {string.Join(" | ", _errors.GroupBy(e => e).Select(g => $"{g.Count()}x {g.Key}"))}");

    private double Percentile(double p)
    {
        var sorted = _latencies.OrderBy(x => x).ToArray();
        return sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];
    }

    private async Task WorkerAsync(int worker, WriteItem write, CancellationToken stop)
    {
        var mine = new List<string>();
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            // Mostly updates of this worker's sessions, sometimes a new session.
            var secret = mine.Count == 0 || n % 4 == 0 ? null : mine[n % mine.Count];
            var key = $"w{worker}-i{n}";
            var value = $"v{n}";
            var started = Stopwatch.GetTimestamp();
            try
            {
                var written = await write(secret, key, value, CancellationToken.None);
                _acknowledged.Add((written, key, value));
                _okPerSecond.AddOrUpdate((int)_clock.Elapsed.TotalSeconds, 1, (_, c) => c + 1);
                if (secret is null)
                {
                    mine.Add(written);
                }
            }
            catch (Exception ex)
            {
                _errors.Add(ex is EtcdSessionException { Kind: EtcdSessionErrorKind.Timeout or EtcdSessionErrorKind.Unavailable } etcd
                    ? $"{etcd.Kind}"
                    : ex.GetType().Name + ": " + ex.Message);
            }
            finally
            {
                _latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }
}
