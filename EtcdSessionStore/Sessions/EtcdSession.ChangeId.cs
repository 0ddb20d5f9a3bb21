using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

// Change-id (one atomic transaction per attempt, within the retry budget) and destroy (one exact-key delete).
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
            var rotation = await _backend.Storage.RotateOnceAsync(_storageKey, _stored, newKey, header, value, cancellationToken).ConfigureAwait(false);
            if (rotation.Stored is { } rotated)
            {
                // Done, or an earlier attempt was applied and only its reply was lost: what it wrote (the user binding,
                // this request's changes) is what is stored now.
                _stored = rotated;
                if (binding is not null)
                {
                    _changes.Reset(); // the rotation wrote this request's changes along with the new header
                }

                break;
            }

            if (rotation is { Gone: true, Moved: true })
            {
                // Another request of this browser rotated first, and its answer carries the new key. This request did not
                // rotate, and the session did not end: it must neither hand out a key of its own nor delete the cookie.
                Moved = true;
                StartOver(newKey: false);
                _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                    "The session key this request presented was rotated away by another request of the same browser (a sign-in or change-id) while this one rotated it too; the other rotation is in force.");
            }

            if (rotation.Gone)
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

            var (fresh, items) = _backend.Codec.Decode(rotation.Current!);
            _stored = fresh;
            _changes.ApplyTo(items);
            _items = items;
            _itemsShared = false;
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

    /// <summary>Deletes exactly this session from etcd; afterwards this object is a new, empty session with a new key.</summary>
    /// <exception cref="EtcdSessionException">
    /// <see cref="EtcdSessionErrorKind.Conflict"/>: another request of the same browser rotated the session to a new key
    /// first (a sign-in, say), so nothing was destroyed: the session lives on under the key that request answered with.
    /// </exception>
    public async Task DestroyAsync(CancellationToken cancellationToken)
    {
        if (Moved || !await _backend.Storage.DestroyAsync(_storageKey, _stored, cancellationToken).ConfigureAwait(false))
        {
            Moved = true; // the browser may hold the new key by now: the answer leaves its cookie alone
            _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
            throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                "The session key this request presented was rotated away by another request of the same browser (a sign-in or change-id); the session was not destroyed.");
        }

        Log.Destroyed(_backend.SessionLogger, _id);
        _backend.Metrics?.Destroyed(1);
        _state = LoadState.Loaded;
        StartOver(newKey: true);
    }
}
