using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using GroupWrite = ((Etcdserverpb.TxnRequest Txn, int Bytes, Google.Protobuf.ByteString[] Keys, bool DeletesRange) Item, Etcd.AspNetCore.Session.Storage.RetryBudget Deadline,
    System.Threading.Tasks.TaskCompletionSource<Etcdserverpb.TxnResponse> Outcome);
using PendingWrite = (Etcdserverpb.TxnRequest Txn, int Bytes, Google.Protobuf.ByteString[] Keys, bool DeletesRange);

namespace Etcd.AspNetCore.Session.Sessions;

// Group commit across sessions: the guarded writes of different sessions that wait at the same moment in this instance
// go to etcd as one transaction (one raft entry, one fsync). A failed guard fails a whole transaction: its failure
// branch reads every key back (without values, so that the answer stays small however large the sessions are), so the
// writes whose guard still holds are sent again at once, and only those whose session changed go back to their writer,
// with the value read, to merge (unless no guard failed: then every write goes back, since sending them again would
// change nothing). Two writes that touch one key never share a transaction (etcd would refuse it whole):
// the later one waits for the next. Each writer gets etcd's answer as if its write had gone alone.
internal sealed partial class SessionRepository
{
    /// <summary>etcd's default <c>--max-txn-ops</c> is 128 per branch; a session write takes at most two (value, user index).</summary>
    private const int MaxWritesPerTxn = 64;

    /// <summary>Well under etcd's default request limit of 1.5 MiB.</summary>
    private const int MaxBytesPerTxn = 1024 * 1024;

    private readonly Batcher<PendingWrite, TxnResponse> _group;

    /// <summary>Writes <paramref name="txn"/> (one session's guarded write, see <see cref="SessionTransactions"/>), with other sessions' or alone.</summary>
    /// <param name="txn">The write.</param>
    /// <param name="deadline">The commit's deadline: the wait in the queue and the transaction are bounded by what is left of it.</param>
    /// <returns>
    /// etcd's answer as if the write had gone alone: whether its guard held and it was applied, the revision, and when it
    /// did not, its key as read back (<see cref="SessionTransactions.ReadBack"/>), for the merge.
    /// </returns>
    /// <exception cref="EtcdSessionException">etcd failed or the deadline passed: unless the message says nothing was sent, it cannot be known whether the write was applied.</exception>
    internal Task<TxnResponse> WriteGroupedAsync(TxnRequest txn, RetryBudget deadline)
    {
        // Measured once, for the batcher's choice, which looks at every write taken so far for each one it considers.
        var write = (txn, txn.CalculateSize(),
            txn.Success.Select(op => op.RequestPut?.Key ?? op.RequestDeleteRange?.Key).OfType<ByteString>().ToArray(), // etcd refuses a transaction that touches one key twice
            txn.Success.Any(op => op.RequestDeleteRange is { RangeEnd.IsEmpty: false })); // such a write goes alone rather than be compared with every other's keys
        return _group.TryQueue(write, deadline)!; // never closes
    }

    private static Batcher<PendingWrite, TxnResponse>.Take ChooseForGroup(IReadOnlyList<PendingWrite> batch, PendingWrite write)
    {
        if (batch.Count == 0)
        {
            return write.DeletesRange ? Batcher<PendingWrite, TxnResponse>.Take.JoinAndClose : Batcher<PendingWrite, TxnResponse>.Take.Join;
        }

        if (batch.Count >= MaxWritesPerTxn || batch.Sum(w => w.Bytes) + write.Bytes > MaxBytesPerTxn)
        {
            return Batcher<PendingWrite, TxnResponse>.Take.Stop;
        }

        // A write that touches a key of one already taken waits for the next transaction, in its place.
        return write.DeletesRange || batch.Any(taken => taken.Keys.Any(write.Keys.Contains))
            ? Batcher<PendingWrite, TxnResponse>.Take.Skip
            : Batcher<PendingWrite, TxnResponse>.Take.Join;
    }

    private async Task SendGroupAsync(List<GroupWrite> batch)
    {
        TxnResponse response;
        var deadline = batch.Select(w => w.Deadline).Aggregate(RetryBudget.Later);
        using var timeout = deadline.CancelAtDeadline();
        try
        {
            // Shared by the batch's writers, so it runs until the last of their deadlines, and no caller cancels it.
            response = await _gateway.TxnAsync(batch.Count == 1 ? batch[0].Item.Txn : SessionTransactions.Group(batch.Select(write => write.Item.Txn)), timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw deadline.Expired("waited for etcd to answer its transaction", mayHaveBeenApplied: true);
        }

        if (response.Succeeded || batch.Count == 1)
        {
            foreach (var write in batch)
            {
                write.Outcome.TrySetResult(response);
            }

            return;
        }

        // The writes whose guard still holds failed only because another write of the batch did: they are sent again,
        // unless none failed its own guard (then nothing would change, and each writer reads back and merges).
        var current = batch.Select((write, i) => response.Responses[i].ResponseRange.Kvs is { Count: > 0 } kvs ? kvs[0] : null).ToArray();
        var holds = batch.Select((write, i) => SessionTransactions.GuardHolds(write.Item.Txn, current[i])).ToArray();
        var resend = new List<GroupWrite>();
        for (var i = 0; i < batch.Count; i++)
        {
            if (holds[i] && !holds.All(held => held))
            {
                resend.Add(batch[i]);
            }
            else if (current[i] is null)
            {
                batch[i].Outcome.TrySetResult(new TxnResponse { Header = response.Header, Succeeded = false }); // gone: nothing to read back
            }
            else
            {
                _ = ReadBackAsync(batch[i]); // the combined read-back has no values
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
            var range = write.Item.Txn.Failure[0].RequestRange;
            var read = await _gateway.RangeAsync(new RangeRequest { Key = range.Key }, timeout.Token).ConfigureAwait(false);
            write.Outcome.TrySetResult(new TxnResponse
            {
                Header = read.Header,
                Succeeded = false,
                Responses = { new ResponseOp { ResponseRange = read } },
            });
        }
        catch (Exception ex)
        {
            // Nothing of this write was applied; its writer gives up (its deadline passed) or reports etcd's failure.
            write.Outcome.TrySetException(ex is OperationCanceledException ? write.Deadline.Expired("read back its session", mayHaveBeenApplied: false) : ex);
        }
    }
}
