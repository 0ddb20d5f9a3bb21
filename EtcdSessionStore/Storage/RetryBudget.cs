using System.Diagnostics;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// How long a guarded write may keep retrying after losing to a concurrent writer: until <see cref="EtcdSessionOptions.IOTimeout"/>
/// is spent, not a fixed number of times, with a little jitter between attempts so that writers racing on one key fall
/// out of step. Each attempt's etcd call keeps its own IOTimeout deadline.
/// </summary>
internal readonly struct RetryBudget
{
    private readonly long _started;
    private readonly TimeSpan _limit;

    private RetryBudget(TimeSpan limit)
    {
        _started = Stopwatch.GetTimestamp();
        _limit = limit;
    }

    public static RetryBudget Start(TimeSpan limit) => new(limit);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>No time is left for another attempt.</summary>
    public bool IsSpent => Elapsed > _limit;

    /// <summary>0 to 2^attempt ms (at most 64 ms): enough to put racing writers out of step, small next to a write.</summary>
    public static Task PauseAsync(int attempt, CancellationToken cancellationToken = default) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 1 << Math.Min(attempt, 6))), cancellationToken);
}
