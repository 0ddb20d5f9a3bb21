using System.Numerics;

namespace Etcd.AspNetCore.Session.Expiry;

/// <summary>
/// The naming scheme of expiry leases: etcd leases shared by the sessions that expire in the same bucket (a second for
/// near expiries, wider for far ones, see <see cref="BucketEnd"/>), with an id that encodes the second
/// the lease ends (and a slot, so that one lease holds at most a few hundred keys). Any
/// app instance derives the same ids, and a reader learns a session's idle deadline (rounded up to its bucket) from the
/// lease id a Range returns: no extra call and no rewrite of the value. etcd resets lease TTLs on a leader change, so the
/// deadline read from the id is also enforced on read. See docs/design.md for the measurement behind this.
/// </summary>
internal static class ExpiryLease
{
    /// <summary>The highest slot: up to 64 leases per expiry second.</summary>
    public const int MaxSlot = 63;

    /// <summary>Buckets per doubling of the distance to the expiry: a lease outlives its deadline by at most 1/64 of it.</summary>
    public const int BucketsPerDoubling = 64;

    // Layout: 0x5E55 ("SESS") in bits 40..54, the slot in bits 34..39, the expiry second in bits 0..33
    // (Unix seconds, good until the year 2514). Positive, and unlike the ids etcd's own generator hands out.
    private const int SecondBits = 34;
    private const long Tag = 0x5E55L << 40;
    private const long TagMask = 0x7FFFL << 40;
    private const long SecondsMask = (1L << SecondBits) - 1;

    /// <summary>The id of slot <paramref name="slot"/> of the lease for sessions that expire at <paramref name="expiresAt"/>, rounded up to a whole second.</summary>
    public static long IdFor(DateTimeOffset expiresAt, int slot = 0) => IdFor(SecondOf(expiresAt), slot);

    /// <summary>The id of slot <paramref name="slot"/> of the lease for expiry second <paramref name="second"/> (Unix time).</summary>
    public static long IdFor(long second, int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, MaxSlot);
        return Tag | ((long)slot << SecondBits) | second;
    }

    /// <summary>The whole second (Unix time) a deadline rounds up to.</summary>
    public static long SecondOf(DateTimeOffset expiresAt)
    {
        // From ticks: a deadline a fraction of a millisecond past a second rounds up too.
        var ticks = expiresAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return (ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
    }

    /// <summary>The expiry encoded in <paramref name="leaseId"/>, or <see langword="null"/> for a lease that is not ours.</summary>
    public static DateTimeOffset? ExpiryOf(long leaseId) =>
        (leaseId & TagMask) == Tag ? DateTimeOffset.FromUnixTimeSeconds(leaseId & SecondsMask) : null;

    /// <summary>
    /// The second (Unix time) the lease for an expiry at <paramref name="second"/> ends, seen at <paramref name="nowSecond"/>:
    /// <paramref name="second"/> rounded up to a multiple of the bucket width, the largest power of two (in seconds)
    /// not above the distance divided by <paramref name="bucketsPerDoubling"/> (one second for near expiries). Every
    /// instance rounds alike, so they share leases.
    /// </summary>
    public static long BucketEnd(long second, long nowSecond, int bucketsPerDoubling = BucketsPerDoubling)
    {
        var width = BucketWidth(second - nowSecond, bucketsPerDoubling);
        return (second + width - 1) / width * width;
    }

    /// <summary>How many seconds a lease for an expiry <paramref name="distanceSeconds"/> away may outlive it.</summary>
    public static long BucketWidth(long distanceSeconds, int bucketsPerDoubling = BucketsPerDoubling)
    {
        var share = distanceSeconds / bucketsPerDoubling;
        return share <= 1 ? 1 : 1L << BitOperations.Log2((ulong)share);
    }
}
