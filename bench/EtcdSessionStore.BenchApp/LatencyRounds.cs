namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Latencies of one kind of call, kept per round: p50 over all samples, p99 as the median of the rounds' p99s
/// (one spike on a shared machine moves one round, not the result).
/// </summary>
internal sealed class LatencyRounds
{
    public const int Count = 4;

    private readonly List<List<double>> _rounds = [];

    public double P50 => Percentiles.Of(_rounds.SelectMany(r => r).ToArray(), 50);

    public double P99 => Percentiles.Median(_rounds.Select(r => Percentiles.Of(r, 99)));

    public void Add(List<double> round) => _rounds.Add(round);
}
