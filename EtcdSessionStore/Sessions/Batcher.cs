using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// The store's one batcher: a queue whose first writer into an idle queue drains it, taking batch after batch and
/// sending each, until nothing waits. Nothing waits for company: with nothing in flight an item goes at once, alone; items
/// that arrive while a batch is in flight go together in the next. An item waits within its deadline: one whose
/// deadline passes while it waits is taken out and never sent. <see cref="SessionRepository"/> uses it twice: per
/// session (at most one transaction of a session in flight in this instance) and across sessions (the writes of
/// several sessions in one etcd transaction).
/// </summary>
/// <typeparam name="TItem">What waits: its deadline and the outcome its writer waits for.</typeparam>
/// <typeparam name="TResult">The outcome of one item.</typeparam>
internal sealed class Batcher<TItem, TResult>
    where TItem : Batcher<TItem, TResult>.Item
{
    private readonly Lock _gate = new();
    private readonly LinkedList<TItem> _waiting = new();
    private readonly Func<IReadOnlyList<TItem>, TItem, Take> _choose;
    private readonly Func<List<TItem>, Task> _send;
    private readonly string _waited;
    private readonly string _sent;
    private readonly Action? _closeWhenIdle;
    private bool _draining;
    private bool _closed;

    /// <param name="choose">
    /// Whether the next waiting item joins the batch taken so far (called in queue order, under the batcher's lock). The
    /// first item of a batch must join it.
    /// </param>
    /// <param name="send">Sends one batch and completes each item's outcome (an exception it throws fails every item of the batch).</param>
    /// <param name="waited">What an item that timed out while queued did, for its error: e.g. "waited for the session's previous write".</param>
    /// <param name="sent">What an item that timed out after it was taken did: e.g. "was being written".</param>
    /// <param name="closeWhenIdle">
    /// <see langword="null"/>: the batcher lives on. Otherwise it closes once drained (no item is accepted any more) and
    /// this runs, under its lock, so that its owner drops it.
    /// </param>
    public Batcher(Func<IReadOnlyList<TItem>, TItem, Take> choose, Func<List<TItem>, Task> send, string waited, string sent, Action? closeWhenIdle = null)
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
    /// Queues <paramref name="item"/>; <see langword="false"/> when the batcher closed a moment ago (queue into its
    /// successor). Then <see cref="WaitAsync"/> for its outcome.
    /// </summary>
    public bool TryQueue(TItem item)
    {
        bool lead;
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _waiting.AddLast(item);
            lead = !_draining;
            _draining = true;
        }

        if (lead)
        {
            _ = DrainAsync();
        }

        return true;
    }

    /// <summary>Waits for the outcome of a queued <paramref name="item"/> within its deadline.</summary>
    /// <param name="item">A queued item.</param>
    /// <param name="cancellationToken">The caller's: it stops waiting; a batch already sent goes on for the others.</param>
    /// <exception cref="EtcdSessionException">The deadline passed (<see cref="EtcdSessionErrorKind.Timeout"/>), or the send failed.</exception>
    public async Task<TResult> WaitAsync(TItem item, CancellationToken cancellationToken = default)
    {
        try
        {
            return await item.Outcome.Task.WaitAsync(item.Deadline.Remaining, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            bool queued;
            lock (_gate)
            {
                queued = _waiting.Remove(item); // not taken yet: it is never sent
            }

            throw item.Deadline.Expired(queued ? _waited : _sent, mayHaveBeenApplied: !queued);
        }
    }

    /// <summary>Puts items of a batch back at the head of the queue, in order, to go in the next batch.</summary>
    public void Requeue(IReadOnlyList<TItem> items)
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
                foreach (var item in batch)
                {
                    item.Outcome.TrySetException(ex);
                }
            }
        }
    }

    private List<TItem>? TakeBatch()
    {
        lock (_gate)
        {
            var batch = new List<TItem>();
            for (var node = _waiting.First; node is not null;)
            {
                var item = node.Value;
                var next = node.Next;
                if (item.Deadline.IsSpent)
                {
                    _waiting.Remove(node); // its writer has given up (or is about to): never send it
                    item.Outcome.TrySetException(item.Deadline.Expired(_waited, mayHaveBeenApplied: false));
                    node = next;
                    continue;
                }

                var take = _choose(batch, item);
                if (take == Take.Stop)
                {
                    break;
                }

                if (take != Take.Skip)
                {
                    _waiting.Remove(node);
                    batch.Add(item);
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

    /// <summary>One waiting item: its deadline and its outcome.</summary>
    internal abstract class Item(RetryBudget deadline)
    {
        public RetryBudget Deadline { get; } = deadline;

        public TaskCompletionSource<TResult> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
