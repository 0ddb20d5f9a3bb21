namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>Unary etcd calls per request, as counted by etcd (see <see cref="EtcdCallCounts"/>).</summary>
internal sealed record EtcdCallsPerRequest(double Range, double Txn, double Other)
{
    public static readonly EtcdCallsPerRequest NotMeasured = new(double.NaN, double.NaN, double.NaN);

    public double Total => Range + Txn + Other;

    public bool IsMeasured => !double.IsNaN(Total);

    /// <summary>The median of each figure over several runs (rounds).</summary>
    public static EtcdCallsPerRequest Median(IReadOnlyCollection<EtcdCallsPerRequest> runs) => new(
        Percentiles.Median(runs.Select(r => r.Range)),
        Percentiles.Median(runs.Select(r => r.Txn)),
        Percentiles.Median(runs.Select(r => r.Other)));
}
