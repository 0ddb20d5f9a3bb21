using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// Group commit across sessions: the guarded writes of different sessions that wait at the same moment in this instance
/// go to etcd as one transaction (one raft entry, one fsync). With nothing in flight a write goes at once, alone, so
/// it never waits for company; while one transaction is in flight, the writes that arrive queue for the next.
/// A failed guard fails a whole transaction: its failure branch reads every key back (without values, so that the answer
/// stays small however large the sessions are), so the writes whose guard still holds are sent again at once, and only
/// those whose session changed go back to their writer, with the value read, to merge. Two writes that touch one key
/// never share a transaction (etcd would refuse it whole): the later one waits for the next.
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
    /// <param name="txn">The write.</param>
    /// <param name="deadline">The commit's deadline: the wait in the queue and the transaction are bounded by what is left of it.</param>
    /// <returns>Whether its guard held and it was applied; otherwise the key as read back, for the merge.</returns>
    /// <exception cref="EtcdSessionException">etcd failed or the deadline passed: unless the message says nothing was sent, it cannot be known whether the write was applied.</exception>
    public async Task<TxnOutcome> WriteAsync(TxnRequest txn, RetryBudget deadline)
    {
        var write = new Write(txn, deadline);
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

        try
        {
            return await write.Outcome.Task.WaitAsync(deadline.Remaining).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            bool queued;
            lock (_gate)
            {
                queued = _waiting.Remove(write); // still waiting: it is never sent
            }

            throw deadline.Expired(queued ? "waited for other sessions' transaction" : "waited for etcd to answer its transaction", mayHaveBeenApplied: !queued);
        }
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
            var batch = new List<Write>();
            var keys = new HashSet<ByteString>();
            var bytes = 0;
            for (var node = _waiting.First; node is not null && batch.Count < MaxWritesPerTxn;)
            {
                var write = node.Value;
                var next = node.Next;
                if (write.Deadline.IsSpent)
                {
                    _waiting.Remove(node); // its writer has given up (or is about to): never send it
                    write.Outcome.TrySetException(write.Deadline.Expired("waited for other sessions' transaction", mayHaveBeenApplied: false));
                }
                else if (batch.Count > 0 && bytes + write.Bytes > MaxBytesPerTxn)
                {
                    break;
                }
                else if (batch.Count == 0 || (!write.Exclusive && !write.Keys.Any(keys.Contains)))
                {
                    // A write that touches a key of one already taken waits for the next transaction, in its place.
                    _waiting.Remove(node);
                    batch.Add(write);
                    keys.UnionWith(write.Keys);
                    bytes += write.Bytes;
                    if (write.Exclusive)
                    {
                        break;
                    }
                }

                node = next;
            }

            if (batch.Count == 0)
            {
                _sending = false;
                return null;
            }

            return batch;
        }
    }

    private async Task SendAsync(List<Write> batch)
    {
        TxnResponse response;
        var deadline = batch.Select(w => w.Deadline).Aggregate(RetryBudget.Later);
        using var timeout = deadline.CancelAtDeadline();
        try
        {
            // Shared by the batch's writers, so it runs until the last of their deadlines, and no caller cancels it.
            response = await _gateway.TxnAsync(batch.Count == 1 ? batch[0].Txn : Combine(batch), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ex is OperationCanceledException && timeout.IsCancellationRequested
                ? deadline.Expired("waited for etcd to answer its transaction", mayHaveBeenApplied: true)
                : ex;
            foreach (var write in batch)
            {
                write.Outcome.TrySetException(error);
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
            else if (batch.Count > 1 && current is not null)
            {
                _ = ReadBackAsync(batch[i]); // the combined read-back has no values
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

    /// <summary>Reads the value of a key whose guard failed in a combined transaction, for its writer's merge.</summary>
    private async Task ReadBackAsync(Write write)
    {
        try
        {
            using var timeout = write.Deadline.CancelAtDeadline();
            var range = write.Txn.Failure[0].RequestRange;
            var response = await _gateway.RangeAsync(new RangeRequest { Key = range.Key }, timeout.Token).ConfigureAwait(false);
            write.Outcome.TrySetResult(new TxnOutcome(false, response.Kvs.Count == 0 ? null : response.Kvs[0], response.Header.Revision));
        }
        catch (Exception ex)
        {
            // Nothing of this write was applied; its writer gives up (its deadline passed) or reports etcd's failure.
            write.Outcome.TrySetException(ex is OperationCanceledException ? write.Deadline.Expired("read back its session", mayHaveBeenApplied: false) : ex);
        }
    }

    /// <summary>
    /// One transaction of several sessions' writes: every guard, every put; on failure, every key read back in order,
    /// without its value (the answer of 64 large sessions would pass gRPC's 4 MB receive limit).
    /// </summary>
    private static TxnRequest Combine(List<Write> batch)
    {
        var txn = new TxnRequest();
        foreach (var write in batch)
        {
            txn.Compare.AddRange(write.Txn.Compare);
            txn.Success.AddRange(write.Txn.Success);
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = write.Txn.Failure[0].RequestRange.Key, KeysOnly = true } });
        }

        return txn;
    }

    private sealed class Write(TxnRequest txn, RetryBudget deadline)
    {
        public TxnRequest Txn { get; } = txn;

        public RetryBudget Deadline { get; } = deadline;

        public int Bytes { get; } = txn.CalculateSize();

        /// <summary>The keys its puts and deletes touch: etcd refuses a transaction that touches one key twice.</summary>
        public ByteString[] Keys { get; } = [.. txn.Success.Select(op => op.RequestPut?.Key ?? op.RequestDeleteRange?.Key).OfType<ByteString>()];

        /// <summary>It deletes a range of keys: it goes alone rather than be compared with every other write's keys.</summary>
        public bool Exclusive { get; } = txn.Success.Any(op => op.RequestDeleteRange is { RangeEnd.IsEmpty: false });

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
