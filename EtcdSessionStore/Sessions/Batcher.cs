using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// The store's one batcher: a queue whose first writer into an idle queue drains it, taking batch after batch and
/// sending each, until nothing waits. Nothing waits for company: with nothing in flight an item goes at once, alone; items
/// that arrive while a batch is in flight go together in the next. An item waits within its deadline: one whose
/// deadline passes while it waits is taken out and never sent. <see cref="SessionRepository"/> uses it twice: per
/// session (at most one transaction of a session in flight in this instance) and across sessions (the writes of
/// several sessions in one etcd transaction). The items are the owners' own values: the batcher keeps each one's deadline
/// and outcome beside it.
/// </summary>
/// <typeparam name="TItem">What waits: a session's change set, or a guarded write.</typeparam>
/// <typeparam name="TResult">The outcome of one item.</typeparam>
internal sealed class Batcher<TItem, TResult>
{
    private readonly Lock _gate = new();
    private readonly LinkedList<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)> _waiting = new();
    private readonly Func<IReadOnlyList<TItem>, TItem, Take> _choose;
    private readonly Func<List<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)>, Task> _send;
    private readonly string _waited;
    private readonly string _sent;
    private readonly Action? _closeWhenIdle;
    private bool _draining;
    private bool _closed;

    /// <param name="choose">
    /// Whether the next waiting item joins the batch taken so far (called in queue order, under the batcher's lock). The
    /// first item of a batch must join it.
    /// </param>
    /// <param name="send">
    /// Sends one batch and completes each item's outcome, or puts items back with <see cref="Requeue"/> (an exception it
    /// throws fails every item of the batch).
    /// </param>
    /// <param name="waited">What an item that timed out while queued did, for its error: e.g. "waited for the session's previous write".</param>
    /// <param name="sent">What an item that timed out after it was taken did: e.g. "was being written".</param>
    /// <param name="closeWhenIdle">
    /// <see langword="null"/>: the batcher lives on. Otherwise it closes once drained (no item is accepted any more) and
    /// this runs, under its lock, so that its owner drops it.
    /// </param>
    public Batcher(Func<IReadOnlyList<TItem>, TItem, Take> choose, Func<List<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)>, Task> send,
        string waited, string sent, Action? closeWhenIdle = null)
    {
        _choose = choose;
        _send = send;
        _waited = waited;
        _sent = sent;
        _closeWhenIdle = closeWhenIdle;
    }

    /// <summary>What becomes of the next waiting item when a batch is taken.</summary>
    public enum Take
    {
        /// <summary>It joins the batch.</summary>
        Join,

        /// <summary>It joins the batch, which goes without any further item.</summary>
        JoinAndClose,

        /// <summary>It stays in its place for a later batch; the items after it are looked at.</summary>
        Skip,

        /// <summary>The batch goes as it is.</summary>
        Stop,
    }

    /// <summary>
    /// Queues <paramref name="item"/> and waits for its outcome within <paramref name="deadline"/>; <see langword="null"/>
    /// when the batcher closed a moment ago (queue into its successor).
    /// </summary>
    /// <param name="item">What waits.</param>
    /// <param name="deadline">Its deadline: the wait in the queue and the send are bounded by what is left of it.</param>
    /// <param name="cancellationToken">The caller's: it stops waiting; a batch already sent goes on for the others.</param>
    /// <returns>Its outcome. It throws <see cref="EtcdSessionException"/> when the deadline passed (<see cref="EtcdSessionErrorKind.Timeout"/>) or the send failed.</returns>
    public Task<TResult>? TryQueue(TItem item, RetryBudget deadline, CancellationToken cancellationToken = default)
    {
        var outcome = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool lead;
        lock (_gate)
        {
            if (_closed)
            {
                return null;
            }

            _waiting.AddLast((item, deadline, outcome));
            lead = !_draining;
            _draining = true;
        }

        if (lead)
        {
            _ = DrainAsync();
        }

        return WaitAsync(deadline, outcome, cancellationToken);
    }

    private async Task<TResult> WaitAsync(RetryBudget deadline, TaskCompletionSource<TResult> outcome, CancellationToken cancellationToken)
    {
        try
        {
            return await outcome.Task.WaitAsync(deadline.Remaining, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            bool queued;
            lock (_gate)
            {
                var node = _waiting.First;
                while (node is not null && node.Value.Outcome != outcome)
                {
                    node = node.Next;
                }

                queued = node is not null; // not taken yet (or put back): it is never sent
                if (queued)
                {
                    _waiting.Remove(node!);
                }
            }

            throw deadline.Expired(queued ? _waited : _sent, mayHaveBeenApplied: !queued);
        }
    }

    /// <summary>Puts items of a batch back at the head of the queue, in order, to go in the next batch.</summary>
    public void Requeue(IReadOnlyList<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)> items)
    {
        lock (_gate)
        {
            for (var i = items.Count - 1; i >= 0; i--)
            {
                _waiting.AddFirst(items[i]);
            }
        }
    }

    private async Task DrainAsync()
    {
        while (TakeBatch() is { } batch)
        {
            try
            {
                await _send(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whatever went wrong, no item may wait forever.
                foreach (var (_, _, outcome) in batch)
                {
                    outcome.TrySetException(ex);
                }
            }
        }
    }

    private List<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)>? TakeBatch()
    {
        lock (_gate)
        {
            var batch = new List<(TItem Item, RetryBudget Deadline, TaskCompletionSource<TResult> Outcome)>();
            var taken = new List<TItem>();
            for (var node = _waiting.First; node is not null;)
            {
                var (item, deadline, outcome) = node.Value;
                var next = node.Next;
                if (deadline.IsSpent)
                {
                    _waiting.Remove(node); // its writer has given up (or is about to): never send it
                    outcome.TrySetException(deadline.Expired(_waited, mayHaveBeenApplied: false));
                    node = next;
                    continue;
                }

                var take = _choose(taken, item);
                if (take == Take.Stop)
                {
                    break;
                }

                if (take != Take.Skip)
                {
                    _waiting.Remove(node);
                    batch.Add(node.Value);
                    taken.Add(item);
                }

                if (take == Take.JoinAndClose)
                {
                    break;
                }

                node = next;
            }

            if (batch.Count > 0)
            {
                return batch;
            }

            _draining = false;
            if (_closeWhenIdle is not null && _waiting.Count == 0)
            {
                _closed = true;
                _closeWhenIdle();
            }

            return null;
        }
    }
}
