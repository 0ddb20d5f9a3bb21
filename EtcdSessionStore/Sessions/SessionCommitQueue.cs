using System.Collections.Concurrent;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// Coalesces the commits of one session inside one app instance: at most one transaction per session is in flight;
/// commits that arrive meanwhile wait and go together in the next one. So N concurrent writers of a session cost
/// about N / (writers per transaction) transactions instead of the N² a free-for-all of guarded writes costs.
/// </summary>
internal sealed class SessionCommitQueue
{
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly SessionWriter _writer;

    public SessionCommitQueue(SessionWriter writer)
    {
        _writer = writer;
    }

    /// <summary>Queues <paramref name="commit"/> for the session at <paramref name="storageKey"/> and returns when it is stored.</summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="commit">The request's changes.</param>
    /// <param name="deadline">The commit's deadline: its wait in the lane and its write are bounded by what is left of it.</param>
    /// <param name="cancellationToken">The caller's: it stops waiting, the shared write goes on.</param>
    /// <exception cref="EtcdSessionException">The changes were not stored (or, for a timeout that says so, may have been).</exception>
    public async Task<StoredSession> CommitAsync(string storageKey, PendingCommit commit, RetryBudget deadline, CancellationToken cancellationToken)
    {
        var queued = new Queued(commit, deadline);
        while (true)
        {
            var lane = _lanes.GetOrAdd(storageKey, static _ => new Lane());
            bool lead;
            lock (lane)
            {
                if (lane.Closed)
                {
                    continue; // emptied and removed a moment ago: use the next one
                }

                lane.Waiting.Add(queued);
                lead = !lane.Writing;
                lane.Writing = true;
            }

            if (lead)
            {
                _ = DrainAsync(storageKey, lane);
            }

            // The transaction is shared with other requests, so it is not cancelled with this caller; it runs until the
            // last of their deadlines.
            try
            {
                return await commit.Stored.Task.WaitAsync(deadline.Remaining, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                bool waiting;
                lock (lane)
                {
                    waiting = lane.Waiting.Remove(queued); // not taken yet: it is never written
                }

                throw deadline.Expired(waiting ? "waited for the session's previous write" : "was being written", mayHaveBeenApplied: !waiting);
            }
        }
    }

    private async Task DrainAsync(string storageKey, Lane lane)
    {
        while (true)
        {
            List<PendingCommit> batch = [];
            var deadline = default(RetryBudget);
            lock (lane)
            {
                if (lane.Waiting.Count == 0)
                {
                    lane.Writing = false;
                    lane.Closed = true;
                    _lanes.TryRemove(new KeyValuePair<string, Lane>(storageKey, lane));
                    return;
                }

                foreach (var queued in lane.Waiting)
                {
                    if (queued.Deadline.IsSpent)
                    {
                        // Its request has given up (or is about to): never write it.
                        queued.Commit.Stored.TrySetException(queued.Deadline.Expired("waited for the session's previous write", mayHaveBeenApplied: false));
                        continue;
                    }

                    deadline = batch.Count == 0 ? queued.Deadline : RetryBudget.Later(deadline, queued.Deadline);
                    batch.Add(queued.Commit);
                }

                lane.Waiting.Clear();
            }

            if (batch.Count > 0)
            {
                await WriteAsync(storageKey, batch, deadline, lane).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(string storageKey, List<PendingCommit> batch, RetryBudget deadline, Lane lane)
    {
        try
        {
            var stored = await _writer.WriteAsync(storageKey, batch, lane.LastWritten, deadline).ConfigureAwait(false);
            lane.LastWritten = stored;
            foreach (var commit in batch)
            {
                commit.Stored.TrySetResult(stored);
            }
        }
        catch (EtcdSessionException ex) when (ex.Kind == EtcdSessionErrorKind.TooLarge && batch.Count > 1)
        {
            // Together they are too large: write them one by one, so that only the request that made it too large fails.
            foreach (var commit in batch)
            {
                await WriteAsync(storageKey, [commit], deadline, lane).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            foreach (var commit in batch)
            {
                commit.Stored.TrySetException(ex);
            }
        }
    }

    /// <summary>A commit waiting in its session's lane, with its deadline.</summary>
    private sealed class Queued(PendingCommit commit, RetryBudget deadline)
    {
        public PendingCommit Commit { get; } = commit;

        public RetryBudget Deadline { get; } = deadline;
    }

    private sealed class Lane
    {
        public List<Queued> Waiting { get; } = [];

        public bool Writing { get; set; }

        public bool Closed { get; set; }

        /// <summary>What this lane's last transaction stored: the freshest version this instance knows.</summary>
        public StoredSession? LastWritten { get; set; }
    }
}
