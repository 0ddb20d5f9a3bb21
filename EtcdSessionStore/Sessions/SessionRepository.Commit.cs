using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Committed = (Etcd.AspNetCore.Session.Format.StoredSession Stored, System.Collections.Generic.IReadOnlyDictionary<string, byte[]> Items);

namespace Etcd.AspNetCore.Session.Sessions;

// Commit: the requests' change sets of one session queue in its lane (one transaction of it in flight in this instance),
// each lane's batch is merged over the freshest version known and written guarded, retried with a merge while another
// instance wins. What a commit returns (Committed) is the version stored and its items, shared with the near cache and the
// batch's other requests: never changed.
internal sealed partial class SessionRepository
{
    /// <summary>Each session's lane: its commits in this instance wait while its transaction is in flight, and go together in the next.</summary>
    private readonly ConcurrentDictionary<string, Batcher<SessionChanges, Committed>> _lanes = new(StringComparer.Ordinal);

    /// <summary>
    /// Commit: returns once <paramref name="commit"/> is stored, with other requests' commits of the same session or
    /// alone, within one deadline set here (IOTimeout from now) that every queue and call on its way shares.
    /// </summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="commit">The request's changes.</param>
    /// <param name="cancellationToken">The caller's: it stops waiting; the shared write goes on.</param>
    /// <returns>The stored version that holds the changes, with its items: the request's view from now on.</returns>
    /// <exception cref="EtcdSessionException">The changes were not stored (or, for a timeout that says so, may have been).</exception>
    public async Task<Committed> CommitAsync(string storageKey, SessionChanges commit, CancellationToken cancellationToken)
    {
        var deadline = RetryBudget.Start(_options.IOTimeout);
        try
        {
            while (true)
            {
                var lane = _lanes.GetOrAdd(storageKey, static (key, repository) => repository.NewLane(key), this);
                if (lane.TryQueue(commit, deadline, cancellationToken) is { } committed)
                {
                    return await committed.ConfigureAwait(false);
                }
            }
        }
        catch (EtcdSessionException ex) when (ex.InnerException is TimeoutException)
        {
            _metrics?.Failed(EtcdSessionErrorKind.Timeout); // the commit's deadline, not an etcd call (those count themselves)
            throw;
        }
    }

    /// <summary>A session's lane, dropped once drained; it remembers what its last transaction stored: the freshest version this instance knows.</summary>
    private Batcher<SessionChanges, Committed> NewLane(string storageKey)
    {
        StoredSession? lastWritten = null;
        Batcher<SessionChanges, Committed>? lane = null;
        lane = new(static (_, _) => Batcher<SessionChanges, Committed>.Take.Join,
            async batch => lastWritten = await WriteLaneAsync(storageKey, batch, lastWritten).ConfigureAwait(false),
            "waited for the session's previous write", "was being written",
            closeWhenIdle: () => _lanes.TryRemove(new(storageKey, lane!)));
        return lane;
    }

    /// <summary>
    /// Writes one batch of a lane; together too large, its commits are written one by one, so that only the request that
    /// made it too large fails. Returns the freshest version written (or <paramref name="lastWritten"/>).
    /// </summary>
    private async Task<StoredSession?> WriteLaneAsync(string storageKey,
        List<(SessionChanges Item, RetryBudget Deadline, TaskCompletionSource<Committed> Outcome)> batch,
        StoredSession? lastWritten)
    {
        try
        {
            var committed = await WriteAsync(storageKey, [.. batch.Select(q => q.Item)], lastWritten, batch.Select(q => q.Deadline).Aggregate(RetryBudget.Later))
                .ConfigureAwait(false);
            foreach (var (_, _, outcome) in batch)
            {
                outcome.TrySetResult(committed);
            }

            return committed.Stored;
        }
        catch (EtcdSessionException ex) when (ex.Kind == EtcdSessionErrorKind.TooLarge && batch.Count > 1)
        {
            foreach (var queued in batch)
            {
                try
                {
                    lastWritten = await WriteLaneAsync(storageKey, [queued], lastWritten).ConfigureAwait(false);
                }
                catch (Exception one)
                {
                    queued.Outcome.TrySetException(one);
                }
            }

            return lastWritten;
        }
    }

    /// <summary>
    /// Writes <paramref name="batch"/> (in order) over the freshest known version of the session in one guarded
    /// transaction; when another instance wrote first, merges per key over what it wrote and tries again.
    /// </summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="batch">The requests' changes, oldest first.</param>
    /// <param name="lastWritten">What this instance last wrote for the session, if it knows.</param>
    /// <param name="budget">The latest deadline of the batch's commits: the lease grant and every attempt are bounded by what is left.</param>
    /// <returns>The stored version that holds every change of the batch, with its items.</returns>
    /// <exception cref="EtcdSessionException">Nothing of the batch was stored (or it cannot be known).</exception>
    private async Task<Committed> WriteAsync(string storageKey, IReadOnlyList<SessionChanges> batch,
        StoredSession? lastWritten, RetryBudget budget)
    {
        using var timeout = budget.CancelAtDeadline();
        var commitId = NewCommitId();
        var newest = batch[^1];
        var current = Freshest(batch, lastWritten);
        // In the common case (one request, nothing newer known than the version it loaded or last committed) its own view
        // is the merged result: a session's view is always its stored version's items plus its changes (after a commit it
        // adopts the committed items), so no decode is needed.
        IReadOnlyDictionary<string, byte[]> items = batch.Count == 1 && ReferenceEquals(current, newest.Loaded) ? newest.Items : Merge(Decode(current), batch);
        var guard = current?.ModRevision ?? 0;
        var changedBy = current?.Header.Id ?? newest.Id;
        return await RetryBudget.RetryConflictsAsync<Committed>(budget, async attempt =>
        {
            if (current is not null && IsPastDeadline(current))
            {
                throw Ended(newest, "expired");
            }

            var header = HeaderFor(current, batch).WithCommit(commitId);
            var value = _codec.Encode(header, items);
            var next = NextExpiry(header, header.IdleTimeout);
            // WithoutSessionRefresh(), or a lease still close enough to the ideal expiry: the key stays on its lease,
            // which costs etcd less than moving it to another one.
            var keepLease = current is not null && guard == current.ModRevision &&
                (batch.All(c => c.KeepExpiry) || !SessionDeadline.IsRefreshDue(current.LeaseId, next, _time.GetUtcNow(), _options.EffectiveRefreshInterval));
            var lease = keepLease ? current!.LeaseId : await AcquireLeaseAsync(next, budget, timeout.Token).ConfigureAwait(false);
            var txn = guard == 0
                ? SessionTransactions.Create(storageKey, value, lease)
                : SessionTransactions.Update(storageKey, guard, value, lease, keepLease);
            AddIndexWrite(txn, header, storageKey, lease);
            TxnResponse response;
            var tracked = _cache?.Track(storageKey); // before the write: an event that overtakes its answer is not lost
            try
            {
                response = await WriteGroupedAsync(txn, budget).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex) when (EtcdGateway.IsLeaseNotFound(ex.InnerException) && !budget.IsSpent)
            {
                _leases.Forget(lease); // revoked behind our back: grant it again
                return default;
            }

            if (response.Succeeded)
            {
                Log.Committed(_logger, header.Id, guard == 0, value.Length);
                _metrics?.Committed(created: current is null);
                var written = new StoredSession(header, value, response.Header.Revision, lease);
                tracked?.OfferWritten(written, items);
                return (true, (written, items));
            }

            var readBack = SessionTransactions.ReadBack(response);
            tracked?.OfferStored(readBack, response.Header.Revision);
            if (readBack is null)
            {
                // Rotated to another key, destroyed ("sign out everywhere") or expired while the requests ran: never
                // resurrect it, and never pretend the changes were stored.
                throw Ended(newest, "was rotated, destroyed or expired");
            }

            var (fresh, freshItems) = _codec.Decode(readBack);
            if (fresh.Header.HasCommit(commitId))
            {
                // An earlier attempt was applied and its reply was lost; what is there now may already hold later
                // writes that saw ours, so nothing is applied again.
                return (true, (fresh, freshItems));
            }

            guard = fresh.ModRevision;
            changedBy = fresh.Header.Id;
            if (IsPastDeadline(fresh) && current is null)
            {
                // A dead session under this key (etcd has not removed it yet): start afresh over it, without its items.
                items = Merge(new Dictionary<string, byte[]>(StringComparer.Ordinal), batch);
            }
            else
            {
                current = fresh;
                items = Merge(freshItems, batch);
                Log.MergedConcurrentWrite(_logger, fresh.Header.Id, attempt);
                _metrics?.Merged();
            }

            return default;
        }, () => throw Conflict(
            $"Session {changedBy} kept changing concurrently for {budget.Elapsed.TotalSeconds:0.##} s (IOTimeout) while this request committed; its changes were not saved."))
            .ConfigureAwait(false);
    }

    private async Task<long> AcquireLeaseAsync(DateTimeOffset expiresAt, RetryBudget budget, CancellationToken timeout)
    {
        try
        {
            return await _leases.AcquireAsync(expiresAt, timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw budget.Expired("waited for its expiry lease to be granted", mayHaveBeenApplied: false);
        }
    }

    /// <summary>
    /// The header to write: the stored one (or a new session's), with the writer's serializer and the idle timeout in
    /// force: the one a request of the batch chose (the last such), else the one chosen before, else the app's.
    /// </summary>
    private SessionHeader HeaderFor(StoredSession? current, IReadOnlyList<SessionChanges> batch)
    {
        var header = current?.Header ?? NewHeader(batch[^1]);
        var chosen = batch.LastOrDefault(c => c.ChosenIdleTimeout is not null)?.ChosenIdleTimeout ?? header.ChosenIdleTimeout;
        return header with
        {
            Serializer = _codec.WriterName,
            ChosenIdleTimeout = chosen,
            IdleTimeout = chosen ?? batch[^1].IdleTimeout,
        };
    }

    /// <summary>The header of a session stored for the first time: created now, its absolute deadline from now, bound to the request's user if it bound one.</summary>
    private SessionHeader NewHeader(SessionChanges commit)
    {
        var now = _time.GetUtcNow();
        return new SessionHeader(commit.Id, now, commit.ChosenIdleTimeout ?? commit.IdleTimeout, now + _options.AbsoluteTimeout, _codec.WriterName,
            commit.Binding?.User, commit.Binding?.Metadata, ChosenIdleTimeout: commit.ChosenIdleTimeout);
    }

    /// <summary>The newest version among what the requests loaded and what this instance last wrote.</summary>
    private static StoredSession? Freshest(IReadOnlyList<SessionChanges> batch, StoredSession? lastWritten)
    {
        var freshest = lastWritten;
        foreach (var commit in batch)
        {
            if (commit.Loaded is { } loaded && (freshest is null || loaded.ModRevision > freshest.ModRevision))
            {
                freshest = loaded;
            }
        }

        return freshest;
    }

    private Dictionary<string, byte[]> Decode(StoredSession? stored) =>
        stored is null ? new Dictionary<string, byte[]>(StringComparer.Ordinal) : _codec.DecodeItems(stored);

    private static Dictionary<string, byte[]> Merge(Dictionary<string, byte[]> items, IReadOnlyList<SessionChanges> batch)
    {
        foreach (var commit in batch)
        {
            commit.ApplyTo(items);
        }

        return items;
    }

    /// <summary>The id of one commit: 64 random bits, 11 base64url characters (see <see cref="SessionHeader.CommitIds"/>).</summary>
    private static string NewCommitId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(8));

    private EtcdSessionException Ended(SessionChanges newest, string how)
    {
        var id = newest.Loaded?.Header.Id ?? newest.Id;
        Log.VanishedBeforeCommit(_logger, id);
        return Conflict($"Session {id} {how} while this request ran; its changes were not saved (a session is never brought back).");
    }
}
