using System.Collections.Concurrent;
using Etcd.AspNetCore.Session.Format;

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
    /// <exception cref="EtcdSessionException">The changes were not stored.</exception>
    public async Task<StoredSession> CommitAsync(string storageKey, PendingCommit commit, CancellationToken cancellationToken)
    {
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

                lane.Waiting.Add(commit);
                lead = !lane.Writing;
                lane.Writing = true;
            }

            if (lead)
            {
                _ = DrainAsync(storageKey, lane);
            }

            // The transaction is shared with other requests, so it is not cancelled with this caller; every etcd call
            // in it is bounded by IOTimeout.
            return await commit.Stored.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DrainAsync(string storageKey, Lane lane)
    {
        while (true)
        {
            List<PendingCommit> batch;
            lock (lane)
            {
                if (lane.Waiting.Count == 0)
                {
                    lane.Writing = false;
                    lane.Closed = true;
                    _lanes.TryRemove(new KeyValuePair<string, Lane>(storageKey, lane));
                    return;
                }

                batch = [.. lane.Waiting];
                lane.Waiting.Clear();
            }

            await WriteAsync(storageKey, batch, lane).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(string storageKey, List<PendingCommit> batch, Lane lane)
    {
        try
        {
            var stored = await _writer.WriteAsync(storageKey, batch, lane.LastWritten).ConfigureAwait(false);
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
                await WriteAsync(storageKey, [commit], lane).ConfigureAwait(false);
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

    private sealed class Lane
    {
        public List<PendingCommit> Waiting { get; } = [];

        public bool Writing { get; set; }

        public bool Closed { get; set; }

        /// <summary>What this lane's last transaction stored: the freshest version this instance knows.</summary>
        public StoredSession? LastWritten { get; set; }
    }
}
