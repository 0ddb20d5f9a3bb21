namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// What the near cache can prove about how current it is. The instance writes a heartbeat under the watched prefix
/// (<see cref="FreshnessHeartbeat"/>); events of one watch arrive in revision order, so when the watch delivers that
/// heartbeat, every write that etcd had acknowledged before the heartbeat was sent has been delivered too. The cache is
/// fresh while the last heartbeat delivered was sent at most <see cref="NearCacheOptions.MaxStaleness"/> ago.
/// </summary>
internal sealed class CacheFreshness
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxStaleness;
    private readonly Queue<(long Sequence, long SentAt)> _inFlight = new();
    private readonly Lock _gate = new();
    private long _provenAt;
    private long _watchingSince;

    public CacheFreshness(TimeProvider time, TimeSpan maxStaleness)
    {
        _time = time;
        _maxStaleness = maxStaleness;
    }

    /// <summary>The cache may answer reads: it has seen every write acknowledged up to at most MaxStaleness ago.</summary>
    public bool IsFresh => Volatile.Read(ref _provenAt) is var proven and not 0 && _time.GetElapsedTime(proven) <= _maxStaleness;

    /// <summary>How far behind the cache may be: the time since the last heartbeat it saw was sent; <see langword="null"/> before the first.</summary>
    public TimeSpan? Age => Volatile.Read(ref _provenAt) is var proven and not 0 ? _time.GetElapsedTime(proven) : null;

    /// <summary>
    /// How long the open watch has proven nothing: since the last heartbeat it delivered was sent, or, before its first,
    /// since it opened; <see langword="null"/> while no watch is open.
    /// </summary>
    public TimeSpan? Silence => Age ?? (Volatile.Read(ref _watchingSince) is var since and not 0 ? _time.GetElapsedTime(since) : null);

    /// <summary>A watch stream is open: its silence counts from now until it delivers a heartbeat.</summary>
    public void Watching() => Volatile.Write(ref _watchingSince, _time.GetTimestamp());

    /// <summary>The heartbeat <paramref name="sequence"/> is about to be written.</summary>
    public void HeartbeatSending(long sequence)
    {
        lock (_gate)
        {
            _inFlight.Enqueue((sequence, _time.GetTimestamp()));
            while (_inFlight.Count > 64)
            {
                _inFlight.Dequeue(); // heartbeats that never arrived (failed writes)
            }
        }
    }

    /// <summary>The watch delivered heartbeat <paramref name="sequence"/>.</summary>
    public void HeartbeatDelivered(long sequence)
    {
        lock (_gate)
        {
            while (_inFlight.TryPeek(out var next) && next.Sequence <= sequence)
            {
                _inFlight.Dequeue();
                if (next.Sequence == sequence)
                {
                    Volatile.Write(ref _provenAt, next.SentAt);
                }
            }
        }
    }

    /// <summary>The watch broke or was restarted: nothing is proven until the next heartbeat arrives.</summary>
    public void Lost()
    {
        Volatile.Write(ref _provenAt, 0);
        Volatile.Write(ref _watchingSince, 0);
    }
}
