using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// Flush: writes the changes of one or more requests to one session in one guarded transaction, merging per key with
/// whatever another instance wrote meanwhile, within a <see cref="RetryBudget"/>.
/// </summary>
internal sealed class SessionWriter
{
    private readonly SessionBackend _backend;

    public SessionWriter(SessionBackend backend)
    {
        _backend = backend;
    }

    /// <summary>Writes <paramref name="batch"/> (in order) over the freshest known version of the session.</summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="batch">The requests' changes, oldest first.</param>
    /// <param name="lastWritten">What this instance last wrote for the session, if it knows.</param>
    /// <param name="budget">The latest deadline of the batch's commits: the lease grant and every attempt are bounded by what is left.</param>
    /// <returns>The stored version that holds every change of the batch.</returns>
    /// <exception cref="EtcdSessionException">Nothing of the batch was stored (or it cannot be known).</exception>
    public async Task<StoredSession> WriteAsync(string storageKey, IReadOnlyList<PendingCommit> batch, StoredSession? lastWritten, RetryBudget budget)
    {
        using var timeout = budget.CancelAtDeadline();
        var commitId = SessionKeys.NewCommitId();
        var newest = batch[^1];
        var current = Freshest(batch, lastWritten);
        // In the common case (one request, nothing newer known than the version it loaded or last committed) its own view
        // is the merged result: a session's view is always its stored version's items plus its changes (after a commit it
        // adopts StoredItems), so no decode is needed.
        IReadOnlyDictionary<string, byte[]> items = batch.Count == 1 && ReferenceEquals(current, newest.Loaded) ? newest.Items : Merge(Decode(current), batch);
        var guard = current?.ModRevision ?? 0;
        for (var attempt = 1; ; attempt++)
        {
            var attemptStarted = budget.Elapsed;
            if (current is not null && _backend.IsPastDeadline(current))
            {
                throw Ended(newest, "expired");
            }

            var header = HeaderFor(current, batch).WithCommit(commitId);
            var value = _backend.Codec.Encode(header, items);
            var next = _backend.NextExpiry(header, header.IdleTimeout);
            // WithoutSessionRefresh(), or a lease still close enough to the ideal expiry: the key stays on its lease,
            // which costs etcd less than moving it to another one.
            var keepLease = current is not null && guard == current.ModRevision &&
                (batch.All(c => c.KeepExpiry) || !SessionDeadline.IsRefreshDue(current.LeaseId, next, _backend.Time.GetUtcNow(), _backend.Options.EffectiveRefreshInterval));
            var lease = keepLease ? current!.LeaseId : await AcquireLeaseAsync(next, budget, timeout.Token).ConfigureAwait(false);
            var txn = guard == 0
                ? SessionTransactions.Create(storageKey, value, lease)
                : SessionTransactions.Update(storageKey, guard, value, lease, keepLease);
            if (header.User is not null)
            {
                SessionTransactions.PutEntry(txn, UserSessionIndex.EntryKey(_backend.Options.KeyPrefix, header.User, header.Id),
                    UserSessionIndex.Encode(header, storageKey, _backend.Time.GetUtcNow()), lease);
            }

            TxnOutcome response;
            var tracked = _backend.NearCache?.Track(storageKey);
            try
            {
                response = await _backend.GroupCommit.WriteAsync(txn, budget).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex) when (EtcdGateway.IsLeaseNotFound(ex.InnerException) && !budget.IsSpent)
            {
                _backend.Leases.Forget(lease); // revoked behind our back: grant it again
                continue;
            }

            if (response.Succeeded)
            {
                EtcdSession.Log.Committed(_backend.SessionLogger, header.Id, guard == 0, value.Length);
                _backend.Metrics?.Committed(created: current is null);
                var written = new StoredSession(header, value, response.Revision, lease);
                tracked?.OfferWritten(written, items);
                HandBack(batch, items);
                return written;
            }

            var readBack = response.ReadBack;
            tracked?.OfferStored(readBack, response.Revision);
            if (readBack is null)
            {
                // Rotated to another key, destroyed ("sign out everywhere") or expired while the requests ran: never
                // resurrect it, and never pretend the changes were stored.
                throw Ended(newest, "was rotated, destroyed or expired");
            }

            var (fresh, freshItems) = _backend.Codec.Decode(readBack);
            if (fresh.Header.HasCommit(commitId))
            {
                // An earlier attempt was applied and its reply was lost; what is there now may already hold later
                // writes that saw ours, so nothing is applied again.
                HandBack(batch, freshItems);
                return fresh;
            }

            guard = fresh.ModRevision;
            if (_backend.IsPastDeadline(fresh) && current is null)
            {
                // A dead session under this key (etcd has not removed it yet): start afresh over it, without its items.
                items = Merge(new Dictionary<string, byte[]>(StringComparer.Ordinal), batch);
            }
            else
            {
                current = fresh;
                items = Merge(freshItems, batch);
                EtcdSession.Log.MergedConcurrentWrite(_backend.SessionLogger, fresh.Header.Id, attempt);
                _backend.Metrics?.Merged();
            }

            if (!budget.HasRoomForAnother(budget.Elapsed - attemptStarted, attempt))
            {
                _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                    $"Session {fresh.Header.Id} kept changing concurrently for {budget.Elapsed.TotalSeconds:0.##} s (IOTimeout) while this request committed; its changes were not saved.");
            }

            await RetryBudget.PauseAsync(attempt).ConfigureAwait(false);
        }
    }

    private async Task<long> AcquireLeaseAsync(DateTimeOffset expiresAt, RetryBudget budget, CancellationToken timeout)
    {
        try
        {
            return await _backend.Leases.AcquireAsync(expiresAt, timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw budget.Expired("waited for its expiry lease to be granted", mayHaveBeenApplied: false);
        }
    }

    /// <summary>
    /// The header to write: the stored one (or the newest request's new one), with the writer's serializer and the idle
    /// timeout in force: the one a request of the batch chose (the last such), else the one chosen before, else the app's.
    /// </summary>
    private SessionHeader HeaderFor(StoredSession? current, IReadOnlyList<PendingCommit> batch)
    {
        var header = current?.Header ?? batch[^1].NewHeader;
        var chosen = batch.LastOrDefault(c => c.ChosenIdleTimeout is not null)?.ChosenIdleTimeout ?? header.ChosenIdleTimeout;
        return header with
        {
            Serializer = _backend.Codec.WriterName,
            ChosenIdleTimeout = chosen,
            IdleTimeout = chosen ?? batch[^1].IdleTimeout,
        };
    }

    /// <summary>The newest version among what the requests loaded and what this instance last wrote.</summary>
    private static StoredSession? Freshest(IReadOnlyList<PendingCommit> batch, StoredSession? lastWritten)
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

    /// <summary>Gives every request of the batch the items of the version it completes with: its view from now on.</summary>
    private static void HandBack(IReadOnlyList<PendingCommit> batch, IReadOnlyDictionary<string, byte[]> items)
    {
        foreach (var commit in batch)
        {
            commit.StoredItems = items;
        }
    }

    private Dictionary<string, byte[]> Decode(StoredSession? stored) =>
        stored is null ? new Dictionary<string, byte[]>(StringComparer.Ordinal) : _backend.Codec.DecodeItems(stored);

    private static Dictionary<string, byte[]> Merge(Dictionary<string, byte[]> items, IReadOnlyList<PendingCommit> batch)
    {
        foreach (var commit in batch)
        {
            commit.Changes.ApplyTo(items);
        }

        return items;
    }

    private EtcdSessionException Ended(PendingCommit newest, string how)
    {
        var id = newest.Loaded?.Header.Id ?? newest.NewHeader.Id;
        EtcdSession.Log.VanishedBeforeCommit(_backend.SessionLogger, id);
        _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
        return new EtcdSessionException(EtcdSessionErrorKind.Conflict,
            $"Session {id} {how} while this request ran; its changes were not saved (a session is never brought back).");
    }
}
