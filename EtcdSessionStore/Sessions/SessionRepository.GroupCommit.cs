using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

// Group commit across sessions: the guarded writes of different sessions that wait at the same moment in this instance
// go to etcd as one transaction (one raft entry, one fsync). A failed guard fails a whole transaction: its failure
// branch reads every key back (without values, so that the answer stays small however large the sessions are), so the
// writes whose guard still holds are sent again at once, and only those whose session changed go back to their writer,
// with the value read, to merge. Two writes that touch one key never share a transaction (etcd would refuse it whole):
// the later one waits for the next.
internal sealed partial class SessionRepository
{
    /// <summary>etcd's default <c>--max-txn-ops</c> is 128 per branch; a session write takes at most two (value, user index).</summary>
    private const int MaxWritesPerTxn = 64;

    /// <summary>Well under etcd's default request limit of 1.5 MiB.</summary>
    private const int MaxBytesPerTxn = 1024 * 1024;

    /// <summary>How often a write is sent again because another write of its transaction failed its guard (bounded, so that nothing can loop).</summary>
    private const int MaxResends = 8;

    private readonly Batcher<GroupWrite, TxnOutcome> _group;

    /// <summary>Writes <paramref name="txn"/> (one session's guarded write, see <see cref="SessionTransactions"/>), with other sessions' or alone.</summary>
    /// <param name="txn">The write.</param>
    /// <param name="deadline">The commit's deadline: the wait in the queue and the transaction are bounded by what is left of it.</param>
    /// <returns>Whether its guard held and it was applied; otherwise the key as read back, for the merge.</returns>
    /// <exception cref="EtcdSessionException">etcd failed or the deadline passed: unless the message says nothing was sent, it cannot be known whether the write was applied.</exception>
    internal Task<TxnOutcome> WriteGroupedAsync(TxnRequest txn, RetryBudget deadline)
    {
        var write = new GroupWrite(txn, deadline);
        _group.TryQueue(write); // never closes
        return _group.WaitAsync(write);
    }

    private static Batcher<GroupWrite, TxnOutcome>.Take ChooseForGroup(IReadOnlyList<GroupWrite> batch, GroupWrite write)
    {
        if (batch.Count == 0)
        {
            return write.Exclusive ? Batcher<GroupWrite, TxnOutcome>.Take.JoinAndClose : Batcher<GroupWrite, TxnOutcome>.Take.Join;
        }

        if (batch.Count >= MaxWritesPerTxn || batch.Sum(w => w.Bytes) + write.Bytes > MaxBytesPerTxn)
        {
            return Batcher<GroupWrite, TxnOutcome>.Take.Stop;
        }

        // A write that touches a key of one already taken waits for the next transaction, in its place.
        return write.Exclusive || batch.Any(taken => taken.Keys.Any(write.Keys.Contains))
            ? Batcher<GroupWrite, TxnOutcome>.Take.Skip
            : Batcher<GroupWrite, TxnOutcome>.Take.Join;
    }

    private async Task SendGroupAsync(List<GroupWrite> batch)
    {
        TxnResponse response;
        var deadline = batch.Select(w => w.Deadline).Aggregate(RetryBudget.Later);
        using var timeout = deadline.CancelAtDeadline();
        try
        {
            // Shared by the batch's writers, so it runs until the last of their deadlines, and no caller cancels it.
            response = await _gateway.TxnAsync(batch.Count == 1 ? batch[0].Txn : SessionTransactions.Group(batch.Select(write => write.Txn)), timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw deadline.Expired("waited for etcd to answer its transaction", mayHaveBeenApplied: true);
        }

        if (response.Succeeded)
        {
            foreach (var write in batch)
            {
                write.Outcome.TrySetResult(new TxnOutcome(true, null, response.Header.Revision));
            }

            return;
        }

        var resend = new List<GroupWrite>();
        for (var i = 0; i < batch.Count; i++)
        {
            var current = response.Responses[i].ResponseRange.Kvs is { Count: > 0 } kvs ? kvs[0] : null;
            if (batch.Count > 1 && ++batch[i].Resent <= MaxResends && SessionTransactions.GuardHolds(batch[i].Txn, current))
            {
                resend.Add(batch[i]); // failed only because another write of the batch did
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

        _group.Requeue(resend);
    }

    /// <summary>Reads the value of a key whose guard failed in a combined transaction, for its writer's merge.</summary>
    private async Task ReadBackAsync(GroupWrite write)
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

    /// <summary>One session's guarded write, waiting for a group transaction.</summary>
    private sealed class GroupWrite(TxnRequest txn, RetryBudget deadline) : Batcher<GroupWrite, TxnOutcome>.Item(deadline)
    {
        public TxnRequest Txn { get; } = txn;

        public int Bytes { get; } = txn.CalculateSize();

        /// <summary>The keys its puts and deletes touch: etcd refuses a transaction that touches one key twice.</summary>
        public ByteString[] Keys { get; } = [.. txn.Success.Select(op => op.RequestPut?.Key ?? op.RequestDeleteRange?.Key).OfType<ByteString>()];

        /// <summary>It deletes a range of keys: it goes alone rather than be compared with every other write's keys.</summary>
        public bool Exclusive { get; } = txn.Success.Any(op => op.RequestDeleteRange is { RangeEnd.IsEmpty: false });

        /// <summary>How often it was sent again for another write's failed guard.</summary>
        public int Resent { get; set; }
    }
}

/// <summary>What became of one session's guarded write.</summary>
/// <param name="Succeeded">The guard held and the write was applied.</param>
/// <param name="ReadBack">When it did not: the session's key as etcd holds it now (<see langword="null"/>: gone).</param>
/// <param name="Revision">The revision of the transaction: the written version's <c>mod_revision</c> when it succeeded.</param>
internal readonly record struct TxnOutcome(bool Succeeded, KeyValue? ReadBack, long Revision);
