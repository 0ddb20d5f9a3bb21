using System.Diagnostics;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// The tests' one wait-until, for what arrives a moment later (a watch event, a lease expiry, a recovered cluster):
/// polls until a condition holds or the time is up, and hands back the last value seen, so the caller's own assertion
/// fails with it. The time is measured on the monotonic clock and is the least the wait lasts before it gives up.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Calls <paramref name="probe"/> until <paramref name="done"/> holds for its value, or <paramref name="timeout"/>
    /// has passed; waits <paramref name="interval"/> (100 ms unless given) between calls.
    /// </summary>
    /// <returns>The last value: the one that satisfied <paramref name="done"/>, or the one seen when the time was up.</returns>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, TimeSpan? interval = null,
        CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var value = await probe();
            if (done(value) || Stopwatch.GetElapsedTime(started) >= timeout)
            {
                return value;
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }

    /// <summary>Whether <paramref name="condition"/> came true within <paramref name="timeout"/>.</summary>
    public static Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null, CancellationToken cancellationToken = default) =>
        ValueAsync(condition, holds => holds, timeout, interval, cancellationToken);

    /// <summary>Whether <paramref name="condition"/> came true within <paramref name="timeout"/>.</summary>
    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? interval = null, CancellationToken cancellationToken = default) =>
        ValueAsync(() => Task.FromResult(condition()), holds => holds, timeout, interval, cancellationToken);

    /// <summary>
    /// The result of <paramref name="action"/>, called again while it throws <typeparamref name="TException"/> and
    /// <paramref name="timeout"/> has not passed; the exception of the last call propagates.
    /// </summary>
    public static async Task<T> SucceedsAsync<T, TException>(Func<Task<T>> action, TimeSpan timeout, TimeSpan? interval = null)
        where TException : Exception
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return await action();
            }
            catch (TException) when (Stopwatch.GetElapsedTime(started) < timeout)
            {
                await Task.Delay(interval ?? DefaultInterval);
            }
        }
    }
}
