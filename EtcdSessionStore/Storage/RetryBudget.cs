using System.Diagnostics;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// A commit's one deadline: <see cref="EtcdSessionOptions.IOTimeout"/> from when the request's commit begins. Set once
/// and carried through every queue the commit passes (its session's lane, the group transaction's queue), the lease
/// grant and every attempt, each bounded by what is left (<see cref="Remaining"/>). A guarded write that loses to a
/// concurrent writer retries in the store's one conflict loop (<see cref="RetryConflictsAsync"/>) while another
/// attempt fits in what is left, not a fixed number of times, with a little jitter between attempts so that writers
/// racing on one key fall out of step.
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

    /// <summary>The later of two deadlines: a write shared by several commits runs until the last of them gives up.</summary>
    public static RetryBudget Later(RetryBudget a, RetryBudget b) => a.Remaining >= b.Remaining ? a : b;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>What is left until the deadline (zero once it has passed).</summary>
    public TimeSpan Remaining => _limit - Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero;

    /// <summary>The deadline has passed.</summary>
    public bool IsSpent => Elapsed > _limit;

    /// <summary>
    /// Whether another attempt, after the pause before it, is likely to finish in time: more is left than twice the
    /// last attempt took (<paramref name="lastAttempt"/>) plus the longest pause. A guarded write that keeps losing gives
    /// up at that point, as a conflict, rather than start an attempt that its deadline would cut off.
    /// </summary>
    public bool HasRoomForAnother(TimeSpan lastAttempt, int attempt) => Remaining > lastAttempt * 2 + MaxPause(attempt);

    /// <summary>A token cancelled at the deadline, for the etcd calls and waits made under it.</summary>
    public CancellationTokenSource CancelAtDeadline() => new(Remaining);

    /// <summary>
    /// The error of a commit whose deadline passed while it <paramref name="waited"/>. Its inner exception is a
    /// <see cref="TimeoutException"/>: the commit's deadline, not one etcd call's, ran out.
    /// </summary>
    /// <param name="waited">What the commit was doing, e.g. "waited for the session's previous write".</param>
    /// <param name="mayHaveBeenApplied">The write had gone to etcd: it may have been applied.</param>
    public EtcdSessionException Expired(string waited, bool mayHaveBeenApplied) =>
        new(EtcdSessionErrorKind.Timeout,
            $"The commit did not finish within IOTimeout ({_limit.TotalSeconds:0.##} s); it {waited}. " +
            (mayHaveBeenApplied ? "Its write had gone to etcd and may have been applied; it is not reported as saved." : "Nothing of it was sent to etcd."),
            new TimeoutException());

    /// <summary>
    /// The store's one conflict-retry loop, for a guarded write that can lose to a concurrent writer: runs
    /// <paramref name="attempt"/> (numbered from 1) until one has the answer (<c>Done</c>). After an attempt that lost
    /// (it read the winner back and made ready for the next), it pauses (<see cref="PauseAsync"/>) and tries again while
    /// another attempt still fits in what is left of <paramref name="budget"/> (<see cref="HasRoomForAnother"/>); after
    /// that the answer is <paramref name="whenSpent"/>'s, which for most callers throws a
    /// <see cref="EtcdSessionErrorKind.Conflict"/>.
    /// </summary>
    /// <param name="budget">The deadline every attempt shares.</param>
    /// <param name="attempt">One attempt: <c>Done</c> with its answer, or not done (another writer won; try again).</param>
    /// <param name="whenSpent">The answer once no further attempt fits.</param>
    /// <param name="cancellationToken">Cancels the pauses (an attempt takes what it needs itself).</param>
    public static async Task<T> RetryConflictsAsync<T>(RetryBudget budget, Func<int, Task<(bool Done, T Answer)>> attempt, Func<T> whenSpent,
        CancellationToken cancellationToken = default)
    {
        for (var number = 1; ; number++)
        {
            var started = budget.Elapsed;
            var (done, answer) = await attempt(number).ConfigureAwait(false);
            if (done)
            {
                return answer;
            }

            if (!budget.HasRoomForAnother(budget.Elapsed - started, number))
            {
                return whenSpent();
            }

            await PauseAsync(number, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>0 to 2^attempt ms (at most 64 ms): enough to put racing writers out of step, small next to a write.</summary>
    private static Task PauseAsync(int attempt, CancellationToken cancellationToken = default) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)MaxPause(attempt).TotalMilliseconds)), cancellationToken);

    private static TimeSpan MaxPause(int attempt) => TimeSpan.FromMilliseconds(1 << Math.Min(attempt, 6));
}
