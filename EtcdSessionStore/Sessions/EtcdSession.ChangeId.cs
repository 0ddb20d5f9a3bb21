using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

// Change-id and destroy: what the repository did decides what this request holds afterwards.
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
        var newKey = _repository.StorageKey(newSecret);
        var rotation = await _repository.RotateAsync(_id, _storageKey, _stored, _items, _changes, newKey, binding, cancellationToken).ConfigureAwait(false);
        switch (rotation.Outcome)
        {
            case RotateOutcome.Rotated:
                _stored = rotation.Stored;
                if (!ReferenceEquals(rotation.Items, _items))
                {
                    // The session had changed meanwhile: the view is the version rotated, with this request's changes.
                    _items = rotation.Items;
                    _itemsShared = false;
                }

                if (binding is not null)
                {
                    _changes.ResetItems(); // the rotation wrote this request's changes along with the new header
                }

                break;
            case RotateOutcome.Moved:
                // Another request of this browser rotated first, and its answer carries the new key. This request did not
                // rotate, and the session did not end: it must neither hand out a key of its own nor delete the cookie.
                Moved = true;
                StartOver(newKey: false);
                throw _repository.Conflict(
                    "The session key this request presented was rotated away by another request of the same browser (a sign-in or change-id) while this one rotated it too; the other rotation is in force.");
            case RotateOutcome.Gone:
                StartOver(newKey: false);
                break;
        }

        if (binding is not null && _stored is null)
        {
            // Not stored yet: the first commit writes the session already bound.
            _changes.Binding = binding;
        }

        _secret = newSecret;
        _storageKey = newKey;
        return newSecret;
    }

    /// <summary>Deletes exactly this session from etcd; afterwards this object is a new, empty session with a new key.</summary>
    /// <exception cref="EtcdSessionException">
    /// <see cref="EtcdSessionErrorKind.Conflict"/>: another request of the same browser rotated the session to a new key
    /// first (a sign-in, say), so nothing was destroyed: the session lives on under the key that request answered with.
    /// </exception>
    public async Task DestroyAsync(CancellationToken cancellationToken)
    {
        if (Moved || await _repository.DestroyAsync(_storageKey, _id, _stored, cancellationToken).ConfigureAwait(false) == DestroyOutcome.Moved)
        {
            Moved = true; // the browser may hold the new key by now: the answer leaves its cookie alone
            throw _repository.Conflict(
                "The session key this request presented was rotated away by another request of the same browser (a sign-in or change-id); the session was not destroyed.");
        }

        _state = LoadState.Loaded;
        StartOver(newKey: true);
    }
}
