namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>The shape of one scale benchmark run, as the report describes it.</summary>
/// <param name="Settle">The pause between a checkpoint's fill and its samples.</param>
internal sealed record ScaleRun(int[] Checkpoints, TimeSpan Idle, int Samples, int Concurrency, int FillConcurrency, long NearCacheSizeLimit, DateTimeOffset Started,
    TimeSpan Settle)
{
    /// <summary>The near cache's default <c>SizeLimit</c>: 64 MiB.</summary>
    public const long DefaultNearCacheSizeLimit = 64L * 1024 * 1024;

    /// <summary>p99 at each checkpoint within this factor of the reference member's, measured in the same rounds.</summary>
    public const double P99Target = 1.5;

    /// <summary>Fewer sessions than the default last checkpoint: its numbers are placeholders.</summary>
    public bool IsSmoke => Checkpoints[^1] < 1_000_000;
}
