using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// Group commit across sessions: the guarded writes of different sessions that wait at the same moment in this instance
/// go to etcd as one transaction (one raft entry, one fsync). With nothing in flight a write goes at once, alone, so
/// it never waits for company; while one transaction is in flight, the writes that arrive queue for the next.
/// A failed guard fails a whole transaction: its failure branch reads every key back, so the writes whose guard still
/// holds are sent again at once, and only those whose session changed go back to their writer to merge.
/// </summary>
internal sealed class GroupCommit
{
    /// <summary>etcd's default <c>--max-txn-ops</c> is 128 per branch; a session write takes at most two (value, user index).</summary>
    private const int MaxWritesPerTxn = 64;

    /// <summary>Well under etcd's default request limit of 1.5 MiB.</summary>
    private const int MaxBytesPerTxn = 1024 * 1024;

    private readonly EtcdGateway _gateway;
    private readonly Lock _gate = new();
    private readonly LinkedList<Write> _waiting = new();
    private bool _sending;

    public GroupCommit(EtcdGateway gateway)
    {
        _gateway = gateway;
    }

    /// <summary>Writes <paramref name="txn"/> (one session's guarded write, see <see cref="SessionTransactions"/>), with others or alone.</summary>
    /// <returns>Whether its guard held and it was applied; otherwise the key as read back, for the merge.</returns>
    /// <exception cref="EtcdSessionException">etcd failed: it cannot be known whether the write was applied.</exception>
    public Task<TxnOutcome> WriteAsync(TxnRequest txn)
    {
        var write = new Write(txn);
        bool lead;
        lock (_gate)
        {
            _waiting.AddLast(write);
            lead = !_sending;
            _sending = true;
        }

        if (lead)
        {
            _ = SendAllAsync();
        }

        return write.Outcome.Task;
    }

    private async Task SendAllAsync()
    {
        while (TakeBatch() is { } batch)
        {
            try
            {
                await SendAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whatever went wrong, no write may wait forever: each one's writer reports it.
                foreach (var write in batch)
                {
                    write.Outcome.TrySetException(ex);
                }
            }
        }
    }

    private List<Write>? TakeBatch()
    {
        lock (_gate)
        {
            if (_waiting.Count == 0)
            {
                _sending = false;
                return null;
            }

            var batch = new List<Write>();
            var bytes = 0;
            while (_waiting.First is { } next && batch.Count < MaxWritesPerTxn && (batch.Count == 0 || bytes + next.Value.Bytes <= MaxBytesPerTxn))
            {
                bytes += next.Value.Bytes;
                batch.Add(next.Value);
                _waiting.RemoveFirst();
            }

            return batch;
        }
    }

    private async Task SendAsync(List<Write> batch)
    {
        TxnResponse response;
        try
        {
            // Not cancellable by one caller: the transaction is shared. Every etcd call is bounded by IOTimeout.
            response = await _gateway.TxnAsync(batch.Count == 1 ? batch[0].Txn : Combine(batch), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var write in batch)
            {
                write.Outcome.TrySetException(ex);
            }

            return;
        }

        if (response.Succeeded)
        {
            foreach (var write in batch)
            {
                write.Outcome.TrySetResult(new TxnOutcome(true, null, response.Header.Revision));
            }

            return;
        }

        var retry = new List<Write>();
        for (var i = 0; i < batch.Count; i++)
        {
            var current = response.Responses[i].ResponseRange.Kvs is { Count: > 0 } kvs ? kvs[0] : null;
            if (batch.Count > 1 && ++batch[i].Resent <= 8 && SessionTransactions.GuardHolds(batch[i].Txn, current))
            {
                retry.Add(batch[i]); // failed only because another write of the batch did
            }
            else
            {
                batch[i].Outcome.TrySetResult(new TxnOutcome(false, current, response.Header?.Revision ?? 0));
            }
        }

        lock (_gate)
        {
            for (var i = retry.Count - 1; i >= 0; i--)
            {
                _waiting.AddFirst(retry[i]);
            }
        }
    }

    /// <summary>One transaction of several sessions' writes: every guard, every put; on failure, every key read back, in order.</summary>
    private static TxnRequest Combine(List<Write> batch)
    {
        var txn = new TxnRequest();
        foreach (var write in batch)
        {
            txn.Compare.AddRange(write.Txn.Compare);
            txn.Success.AddRange(write.Txn.Success);
            txn.Failure.Add(write.Txn.Failure[0]);
        }

        return txn;
    }

    private sealed class Write(TxnRequest txn)
    {
        public TxnRequest Txn { get; } = txn;

        public int Bytes { get; } = txn.CalculateSize();

        /// <summary>How often it was sent again for another write's failed guard (bounded, so that nothing can loop).</summary>
        public int Resent { get; set; }

        public TaskCompletionSource<TxnOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What became of one session's guarded write.</summary>
/// <param name="Succeeded">The guard held and the write was applied.</param>
/// <param name="ReadBack">When it did not: the session's key as etcd holds it now (<see langword="null"/>: gone).</param>
/// <param name="Revision">The revision of the transaction: the written version's <c>mod_revision</c> when it succeeded.</param>
internal readonly record struct TxnOutcome(bool Succeeded, KeyValue? ReadBack, long Revision);
