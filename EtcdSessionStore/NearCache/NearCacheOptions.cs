namespace Etcd.AspNetCore.Session;

/// <summary>
/// The near cache: each app instance keeps the sessions it used lately in memory, kept current by an etcd watch, and
/// answers a read from it only while it can prove it has seen every write up to at most <see cref="MaxStaleness"/>
/// ago. See docs/consistency.md for what each mode guarantees.
/// </summary>
public sealed class NearCacheOptions
{
    /// <summary>Serve reads from the near cache. With <see langword="false"/> every read is one linearizable etcd Range.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The oldest write the cache may not have seen yet when it answers a read: past it (watch lagging or broken, etcd
    /// unreachable) reads go to etcd. A write by other instances (a revocation, say) reaches this one within it.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan MaxStaleness { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The memory the cached sessions may take, in bytes (estimated from their stored size).</summary>
    /// <value>The default value is 64 MiB.</value>
    public long SizeLimit { get; set; } = 64L * 1024 * 1024;
}
