namespace Etcd.AspNetCore.Session.Expiry;

/// <summary>
/// When a session (or a sign-in ticket) stops being valid, and when a write made now makes it expire: the one place
/// that combines the idle deadline (encoded in the expiry lease's id, see <see cref="ExpiryLease"/>) with the absolute
/// deadline (stored in the value). etcd resets lease timers on a leader change, so readers check this too.
/// </summary>
internal static class SessionDeadline
{
    /// <summary>The earlier of the idle deadline of <paramref name="leaseId"/> and <paramref name="absoluteExpiry"/>, if either is known.</summary>
    public static DateTimeOffset? Of(long leaseId, DateTimeOffset? absoluteExpiry)
    {
        var idle = ExpiryLease.ExpiryOf(leaseId);
        return idle is null ? absoluteExpiry : absoluteExpiry is { } abs && abs < idle ? abs : idle;
    }

    /// <summary>
    /// Whether <paramref name="deadline"/> (from <see cref="Of"/>; <see langword="null"/>: none known) has passed at
    /// <paramref name="now"/>: the one test of a deadline, for sessions, index entries and tickets alike.
    /// </summary>
    public static bool IsPast(DateTimeOffset? deadline, DateTimeOffset now) => deadline is { } d && d <= now;

    /// <summary>The expiry a write made at <paramref name="now"/> gives: now plus the idle timeout, capped by the absolute deadline.</summary>
    public static DateTimeOffset Next(DateTimeOffset now, TimeSpan idleTimeout, DateTimeOffset? absoluteExpiry)
    {
        var idle = now + idleTimeout;
        return absoluteExpiry is { } abs && abs < idle ? abs : idle;
    }

    /// <summary>
    /// Whether a request at <paramref name="now"/> must move the session to the lease of <paramref name="next"/>: when that
    /// gains at least <paramref name="refreshInterval"/> over the lease the session is on (at most one extra write per
    /// interval per session), or when the session's lease ends later than the one <paramref name="next"/> would get, by
    /// a bucket width or more (a shorter idle timeout, chosen for the session or app-wide, takes effect in etcd).
    /// </summary>
    public static bool IsRefreshDue(long currentLeaseId, DateTimeOffset next, DateTimeOffset now, TimeSpan refreshInterval)
    {
        if (ExpiryLease.ExpiryOf(currentLeaseId) is not { } current)
        {
            return true;
        }

        // A lease for next ends less than one bucket width after it (see ExpiryLease.BucketEnd).
        var width = ExpiryLease.BucketWidth(ExpiryLease.SecondOf(next) - now.ToUnixTimeSeconds());
        return next - current >= refreshInterval || current - next >= TimeSpan.FromSeconds(width);
    }
}
