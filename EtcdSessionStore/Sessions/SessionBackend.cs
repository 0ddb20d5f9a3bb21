using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// What the session lifecycle (<see cref="EtcdSession"/>, <see cref="SessionStorage"/>, <see cref="SessionWriter"/>,
/// <see cref="SessionCommitQueue"/>) shares across requests: the settings, etcd, leases, the codec, the clock, the
/// session log and metrics, and this instance's commit queue. Only <c>Sessions/</c> takes it; every other feature takes
/// the few services it uses.
/// </summary>
internal sealed partial class SessionBackend
{
    public SessionBackend(
        EtcdSessionOptions options,
        EtcdGateway gateway,
        ExpiryLeasePool leases,
        SessionCodec codec,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        SessionMetrics? metrics = null,
        NearCacheInstance? nearCache = null)
    {
        Metrics = metrics;
        NearCache = nearCache?.Cache;
        NearCacheMetrics = nearCache?.Metrics;
        Options = options;
        Gateway = gateway;
        Codec = codec;
        Time = time;
        Leases = leases;
        SessionLogger = loggerFactory.CreateLogger<EtcdSession>();
        GroupCommit = new GroupCommit(gateway);
        Commits = new SessionCommitQueue(new SessionWriter(this));
        Storage = new SessionStorage(this);
    }

    /// <summary>Where the writes of different sessions share a transaction.</summary>
    public GroupCommit GroupCommit { get; }

    /// <summary>Where sessions' commits wait for the one transaction per session this instance has in flight.</summary>
    public SessionCommitQueue Commits { get; }

    /// <summary>The etcd operations of the session lifecycle.</summary>
    public SessionStorage Storage { get; }

    public EtcdSessionOptions Options { get; }

    /// <summary>The near cache; <see langword="null"/> when it is off (every read is a linearizable Range).</summary>
    public SessionCache? NearCache { get; }

    public NearCacheMetrics? NearCacheMetrics { get; }

    /// <summary>The store's metrics; <see langword="null"/> when built without a meter factory.</summary>
    public SessionMetrics? Metrics { get; }

    public EtcdGateway Gateway { get; }

    public ExpiryLeasePool Leases { get; }

    /// <summary>Reads and writes stored values.</summary>
    public SessionCodec Codec { get; }

    public TimeProvider Time { get; }

    public ILogger SessionLogger { get; }

    public string StorageKey(string secret) => SessionKeys.StorageKey(Options.KeyPrefix, secret);

    /// <summary>When the stored session stops being valid: the earlier of its idle and absolute deadlines.</summary>
    public static DateTimeOffset? DeadlineOf(StoredSession stored) => stored.Deadline;

    /// <summary>The stored session is past its deadline now (etcd may not have removed it yet: leases restart on a leader change).</summary>
    public bool IsPastDeadline(StoredSession stored) => DeadlineOf(stored) is { } deadline && deadline <= Time.GetUtcNow();

    /// <summary>The expiry a write made now gives the session.</summary>
    public DateTimeOffset NextExpiry(SessionHeader header, TimeSpan idleTimeout) => SessionDeadline.Next(Time.GetUtcNow(), idleTimeout, header.AbsoluteExpiry);
}
