using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

// Retrieve: from the near cache or one Range, then the stored value decides what this request sees.
internal sealed partial class EtcdSession
{
    /// <inheritdoc />
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_state != LoadState.NotLoaded)
        {
            return;
        }

        SessionStorage.LoadedSession loaded;
        try
        {
            // Only for a key that names nothing (rare): did a rotation move the session away from it a moment ago?
            loaded = await _backend.Storage.LoadAsync(_storageKey, lookForMoved: _strictKeys, ReadsFromNearCache ? _minRevision : null, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException)
        {
            _state = LoadState.Unavailable;
            throw;
        }

        Moved = loaded.Moved;
        if (loaded.Cached is { } cached)
        {
            Adopt(cached.Session, cached.Items, shared: true);
        }
        else
        {
            Adopt(loaded.Stored);
        }
    }

    /// <summary>
    /// The presented key was rotated away a moment ago (a sign-in in the same browser answered while this request was
    /// on its way, or won against this request's own rotation): the request reads an empty session, cannot store
    /// changes, and leaves the cookie alone.
    /// </summary>
    internal bool Moved { get; private set; }

    private void Adopt(KeyValue? kv)
    {
        _state = LoadState.Loaded;
        if (kv is null)
        {
            Log.NotFound(_backend.SessionLogger);
            _backend.Metrics?.Loaded("not_found");
            StartOver(newKey: _strictKeys);
            return;
        }

        StoredSession stored;
        Dictionary<string, byte[]> items;
        try
        {
            (stored, items) = _backend.Codec.Decode(kv);
        }
        catch (EtcdSessionException ex)
        {
            // The value is left untouched in etcd for inspection; the client gets a new session, never this key.
            Log.Unreadable(_backend.SessionLogger, ex.Message, ex);
            _backend.Metrics?.Loaded("unreadable");
            _backend.Metrics?.Failed(ex.Kind);
            if (_strictKeys)
            {
                StartOver(newKey: true);
            }
            else
            {
                _state = LoadState.Unavailable;
            }

            return;
        }

        Adopt(stored, items, shared: false);
    }

    /// <param name="stored">The stored version.</param>
    /// <param name="items">Its items.</param>
    /// <param name="shared">The items are the near cache's: copied before the first change.</param>
    private void Adopt(StoredSession stored, IReadOnlyDictionary<string, byte[]> items, bool shared)
    {
        _state = LoadState.Loaded;
        if (_backend.IsPastDeadline(stored))
        {
            // etcd has not removed it yet (leases restart on a leader change): expired all the same.
            Log.ExpiredOnRead(_backend.SessionLogger, stored.Header.Id);
            _backend.Metrics?.Loaded("expired");
            StartOver(newKey: _strictKeys);
            return;
        }

        _stored = stored;
        _items = items;
        _itemsShared = shared;
        _id = stored.Header.Id;
        _backend.Metrics?.Loaded("found");
    }

    private void StartOver(bool newKey)
    {
        if (newKey)
        {
            _secret = SessionKeys.NewSecret();
            _storageKey = _backend.StorageKey(_secret);
        }

        _stored = null;
        _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        _itemsShared = false;
        _changes.Reset();
        _binding = null;
        _bindingPending = false;
        _id = SessionKeys.NewPublicId();
    }
}
