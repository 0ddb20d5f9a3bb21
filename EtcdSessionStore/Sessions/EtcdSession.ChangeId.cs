using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

// Change-id (one atomic transaction) and destroy (one exact-key delete).
internal sealed partial class EtcdSession
{
    /// <summary>
    /// Change-id: moves the session to a new secret key in one etcd transaction. Data, expiry and creation
    /// time carry over; the old key is dead afterwards.
    /// </summary>
    /// <returns>The new secret session key.</returns>
    public Task<string> RegenerateIdAsync(CancellationToken cancellationToken) => RotateAsync(binding: null, cancellationToken);

    private async Task<string> RotateAsync(UserBinding? binding, CancellationToken cancellationToken)
    {
        ThrowIfNotWritable();
        var newSecret = SessionKeys.NewSecret();
        var newKey = _backend.StorageKey(newSecret);
        var budget = RetryBudget.Start(_backend.Options.IOTimeout);
        for (var attempt = 1; _stored is not null; attempt++)
        {
            var (header, value) = binding is null ? (_stored.Header, _stored.Value) : Rebind(binding);
            var marker = await _backend.Leases.AcquireAsync(_backend.Time.GetUtcNow() + MovedMarkerLifetime, cancellationToken).ConfigureAwait(false);
            var txn = SessionTransactions.Rotate(_storageKey, _stored.ModRevision, newKey, value, _stored.LeaseId,
                SessionKeys.MovedMarker(_backend.Options.KeyPrefix, _storageKey), marker);
            AddIndexWrite(txn, header, newKey, _stored.LeaseId);
            AddIndexDeleteOnRebind(txn, header);
            var response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _stored = new StoredSession(header, value, response.Header.Revision, _stored.LeaseId);
                if (binding is not null)
                {
                    _changes.Reset(); // the rotation wrote this request's changes along with the new header
                }

                break;
            }

            if (SessionTransactions.ReadBackRotated(response) is { } rotated)
            {
                // Only this request knows the new secret: an earlier attempt was applied and its reply was lost. What
                // it wrote (the user binding, this request's changes) is what is stored now.
                _stored = _backend.Decode(rotated).Stored;
                if (binding is not null)
                {
                    _changes.Reset();
                }

                break;
            }

            var current = SessionTransactions.ReadBack(response);
            if (current is null)
            {
                Log.VanishedBeforeCommit(_backend.SessionLogger, _id);
                StartOver(newKey: false);
                break;
            }

            if (budget.IsSpent)
            {
                _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                    $"Session {_id} kept changing concurrently for longer than IOTimeout while its id was being rotated; the old id is still in force.");
            }

            var (fresh, items) = _backend.Decode(current);
            _stored = fresh;
            _items = items;
            _changes.ApplyTo(_items);
            await RetryBudget.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
        }

        if (binding is not null && _stored is null)
        {
            // Not stored yet: the first commit writes the session already bound.
            _binding = binding;
            _bindingPending = true;
        }

        _secret = newSecret;
        _storageKey = newKey;
        Log.Rotated(_backend.SessionLogger, _id);
        _backend.Metrics?.Rotated();
        return newSecret;
    }

    /// <summary>
    /// How long the old key says "moved" after a rotation: longer than a request that the browser sent before it saw
    /// the new cookie takes to arrive.
    /// </summary>
    private static readonly TimeSpan MovedMarkerLifetime = TimeSpan.FromMinutes(1);

    /// <summary>Deletes exactly this session from etcd; afterwards this object is a new, empty session with a new key.</summary>
    public async Task DestroyAsync(CancellationToken cancellationToken)
    {
        await DeleteWithIndexAsync(cancellationToken).ConfigureAwait(false);
        Log.Destroyed(_backend.SessionLogger, _id);
        _backend.Metrics?.Destroyed(1);
        _state = LoadState.Loaded;
        StartOver(newKey: true);
    }
}
