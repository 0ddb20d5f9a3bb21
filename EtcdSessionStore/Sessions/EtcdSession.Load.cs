using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Sessions;

// Retrieve: what the repository found decides what this request sees.
internal sealed partial class EtcdSession
{
    /// <inheritdoc />
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_state != LoadState.NotLoaded)
        {
            return;
        }

        Loaded loaded;
        try
        {
            loaded = await _repository.LoadAsync(_storageKey, _keys.DetectsRotatedKeys, TokenCarriesRevision ? _minRevision : null, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException)
        {
            _state = LoadState.Unavailable;
            throw;
        }

        _state = LoadState.Loaded;
        Moved = loaded.Outcome == LoadOutcome.Moved;
        switch (loaded.Outcome)
        {
            case LoadOutcome.Found:
                _stored = loaded.Stored;
                _items = loaded.Items!;
                _itemsShared = loaded.Shared;
                _id = loaded.Stored!.Header.Id;
                break;
            case LoadOutcome.Unreadable when !_keys.ReplacesUnknownKeys:
                _state = LoadState.Unavailable; // the key is adopted: a write would overwrite what could not be read
                break;
            case LoadOutcome.Unreadable:
                StartOver(newKey: true); // the client gets a new session, never this key
                break;
            default:
                StartOver(newKey: _keys.ReplacesUnknownKeys); // not found, moved away, or expired
                break;
        }
    }

    /// <summary>
    /// The presented key was rotated away a moment ago (a sign-in in the same browser answered while this request was
    /// on its way, or won against this request's own rotation): the request reads an empty session, cannot store
    /// changes, and leaves the cookie alone.
    /// </summary>
    internal bool Moved { get; private set; }

    private void StartOver(bool newKey)
    {
        if (newKey)
        {
            _secret = SessionKeys.NewSecret();
            _storageKey = _repository.StorageKey(_secret);
        }

        _stored = null;
        _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        _itemsShared = false;
        _changes.ResetItems();
        _changes.Binding = null;
        _id = SessionKeys.NewPublicId();
    }
}
