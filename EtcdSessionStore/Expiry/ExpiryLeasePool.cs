using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Expiry;

/// <summary>
/// Grants expiry leases (<see cref="ExpiryLease"/>) on first use and remembers which ones this process has
/// granted, so that a busy instance grants a lease per expiry second, not one per session. Each lease takes
/// <see cref="KeysPerLease"/> of this instance's writes for its second, then the next ones go to the next slot; past
/// the last of the <see cref="ExpiryLease.MaxSlot"/> + 1 slots (above about 16,000 writes a second by one instance)
/// the last slot takes them all. On etcd 3.4.23 a put that attaches a key to a lease copies the lease's key list, so a
/// lease must stay small.
/// </summary>
internal sealed class ExpiryLeasePool
{
    /// <summary>Writes of one instance that share one lease (measured in bench/EtcdSessionStore.LeaseStrategy).</summary>
    public const int KeysPerLease = 256;

    private const int PruneThreshold = 4096;

    private readonly EtcdGateway _gateway;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, Task> _grants = new();
    private readonly ConcurrentDictionary<long, StrongBox<int>> _writesPerSecond = new();

    public ExpiryLeasePool(EtcdGateway gateway, TimeProvider time)
    {
        _gateway = gateway;
        _time = time;
    }

    /// <summary>The id of a granted lease that expires at <paramref name="expiresAt"/> (rounded up to a second).</summary>
    public async ValueTask<long> AcquireAsync(DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var second = ExpiryLease.SecondOf(expiresAt);
        var writes = _writesPerSecond.GetOrAdd(second, static _ => new StrongBox<int>());
        var slot = Math.Min((Interlocked.Increment(ref writes.Value) - 1) / KeysPerLease, ExpiryLease.MaxSlot);
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

        if (_grants.Count > PruneThreshold || _writesPerSecond.Count > PruneThreshold)
        {
            Prune();
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

    private void Prune()
    {
        var now = _time.GetUtcNow();
        var nowSecond = ExpiryLease.SecondOf(now);
        foreach (var id in _grants.Keys)
        {
            if (ExpiryLease.ExpiryOf(id) < now)
            {
                _grants.TryRemove(id, out _);
            }
        }

        foreach (var second in _writesPerSecond.Keys)
        {
            if (second < nowSecond)
            {
                _writesPerSecond.TryRemove(second, out _);
            }
        }
    }
}
