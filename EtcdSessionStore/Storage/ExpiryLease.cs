namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The naming scheme of expiry leases: one etcd lease per expiry second, shared by every session that
/// expires in that second, with an id that encodes the second. Any app instance derives the same id,
/// and a reader learns a session's idle deadline from the lease id a Range returns: no extra call and no
/// rewrite of the value. etcd resets lease TTLs on a leader change, so the deadline read from the id is
/// also enforced on read. See docs/design.md for the measurement behind this choice.
/// </summary>
internal static class ExpiryLease
{
    // 0x5E55 ("SESS") in bits 40..54: positive, and unlike the ids etcd's own generator hands out.
    private const long Tag = 0x5E55L << 40;
    private const long TagMask = 0x7FFFL << 40;
    private const long SecondsMask = (1L << 40) - 1;

    /// <summary>The lease id for sessions that expire at <paramref name="expiresAt"/>, rounded up to a whole second.</summary>
    public static long IdFor(DateTimeOffset expiresAt) => Tag | SecondOf(expiresAt);

    /// <summary>The whole second (Unix time) a deadline rounds up to.</summary>
    public static long SecondOf(DateTimeOffset expiresAt)
    {
        var ms = expiresAt.ToUnixTimeMilliseconds();
        return (ms + 999) / 1000;
    }

    /// <summary>The expiry encoded in <paramref name="leaseId"/>, or <see langword="null"/> for a lease that is not ours.</summary>
    public static DateTimeOffset? ExpiryOf(long leaseId) =>
        (leaseId & TagMask) == Tag ? DateTimeOffset.FromUnixTimeSeconds(leaseId & SecondsMask) : null;
}
