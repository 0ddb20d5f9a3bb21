using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Expiry;

/// <summary>
/// Grants expiry leases (<see cref="ExpiryLease"/>) on first use and remembers which ones this process has
/// granted, so that a busy instance grants a lease per expiry bucket, not one per session. A bucket is one second
/// for expiries up to about two minutes away and grows with the distance (<see cref="ExpiryLease.BucketEnd"/>): 1/64 of it at
/// most, rounded down to a power of two, so that sessions of a 14-day lifetime share a few dozen buckets and the
/// leases alive at once stay in the low thousands whatever the mix of lifetimes. A lease may outlive its
/// deadline by its bucket's width; it never ends before it.
/// Each lease takes <see cref="KeysPerLease"/> of this instance's writes for its bucket, then the next ones go to the
/// next slot, round robin over the <see cref="ExpiryLease.MaxSlot"/> + 1 slots. On etcd 3.4.23 a put that attaches a
/// key to a lease copies the lease's key list, so a lease must stay small.
/// </summary>
internal sealed class ExpiryLeasePool
{
    /// <summary>Writes of one instance that share one lease (measured in bench/EtcdSessionStore.LeaseStrategy).</summary>
    public const int KeysPerLease = 256;

    private readonly EtcdGateway _gateway;
    private readonly TimeProvider _time;
    private readonly int _bucketsPerDoubling;
    private readonly ConcurrentDictionary<long, Task> _grants = new();
    private readonly ConcurrentDictionary<long, StrongBox<int>> _writesPerBucket = new();

    // The buckets this pool tracks, earliest first: each is forgotten once past, in O(log n) once, so that an
    // acquire never walks the whole pool.
    private readonly PriorityQueue<long, long> _buckets = new();
    private readonly Lock _bucketsGate = new();
    private long _earliestBucket = long.MaxValue;

    public ExpiryLeasePool(EtcdGateway gateway, TimeProvider time)
        : this(gateway, time, ExpiryLease.BucketsPerDoubling)
    {
    }

    /// <summary>A pool with coarser (or finer) buckets: tests make far-off buckets appear within seconds.</summary>
    internal ExpiryLeasePool(EtcdGateway gateway, TimeProvider time, int bucketsPerDoubling)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketsPerDoubling, 1);
        _gateway = gateway;
        _time = time;
        _bucketsPerDoubling = bucketsPerDoubling;
    }

    /// <summary>The buckets this pool remembers (for tests: it stays bounded).</summary>
    internal int TrackedBuckets => _writesPerBucket.Count;

    /// <summary>The id of a granted lease that ends at <paramref name="expiresAt"/> or up to one bucket width after it.</summary>
    public async ValueTask<long> AcquireAsync(DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var nowSecond = _time.GetUtcNow().ToUnixTimeSeconds();
        ForgetPast(nowSecond);
        var second = ExpiryLease.BucketEnd(ExpiryLease.SecondOf(expiresAt), nowSecond, _bucketsPerDoubling);
        var writes = WritesOf(second);
        var slot = (int)((uint)(Interlocked.Increment(ref writes.Value) - 1) / KeysPerLease % (ExpiryLease.MaxSlot + 1));
        var id = ExpiryLease.IdFor(second, slot);
        var grant = _grants.GetOrAdd(id, static (leaseId, pool) => pool.GrantAsync(leaseId), this);
        if (!grant.IsCompletedSuccessfully)
        {
            try
            {
                // The grant is shared by concurrent callers, so it runs under the IO deadline only; each caller
                // still stops waiting when its own token is cancelled.
                await grant.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdSessionException)
            {
                _grants.TryRemove(new KeyValuePair<long, Task>(id, grant));
                throw;
            }
        }

        return id;
    }

    /// <summary>Forgets a lease that etcd no longer has (revoked by an operator, or expired).</summary>
    public void Forget(long leaseId) => _grants.TryRemove(leaseId, out _);

    private Task GrantAsync(long leaseId)
    {
        var expiresAt = ExpiryLease.ExpiryOf(leaseId)!.Value;
        // Whole seconds, rounded up, plus one so that the lease never expires before the second it names.
        var ttl = Math.Max(2, (long)Math.Ceiling((expiresAt - _time.GetUtcNow()).TotalSeconds) + 1);
        return _gateway.GrantLeaseAsync(leaseId, ttl, CancellationToken.None);
    }

    private StrongBox<int> WritesOf(long second)
    {
        if (_writesPerBucket.TryGetValue(second, out var writes))
        {
            return writes;
        }

        var fresh = new StrongBox<int>();
        writes = _writesPerBucket.GetOrAdd(second, fresh);
        if (ReferenceEquals(writes, fresh))
        {
            lock (_bucketsGate)
            {
                _buckets.Enqueue(second, second);
                Volatile.Write(ref _earliestBucket, Math.Min(_earliestBucket, second));
            }
        }

        return writes;
    }

    /// <summary>Forgets the buckets that ended before <paramref name="nowSecond"/>: one comparison when there are none.</summary>
    private void ForgetPast(long nowSecond)
    {
        if (Volatile.Read(ref _earliestBucket) >= nowSecond)
        {
            return;
        }

        lock (_bucketsGate)
        {
            while (_buckets.TryPeek(out var second, out _) && second < nowSecond)
            {
                _buckets.Dequeue();
                _writesPerBucket.TryRemove(second, out _);
                for (var slot = 0; slot <= ExpiryLease.MaxSlot; slot++)
                {
                    _grants.TryRemove(ExpiryLease.IdFor(second, slot), out _);
                }
            }

            Volatile.Write(ref _earliestBucket, _buckets.TryPeek(out var earliest, out _) ? earliest : long.MaxValue);
        }
    }
}
