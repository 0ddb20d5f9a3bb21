using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

// Flush (through the instance's commit queue, see SessionWriter) and the sliding-expiry refresh.
internal sealed partial class EtcdSession
{
    /// <inheritdoc />
    /// <exception cref="EtcdSessionException">The changes were not stored: etcd failed, the session grew too large, or it
    /// was rotated, destroyed or expired while the request ran (<see cref="EtcdSessionErrorKind.Conflict"/>).</exception>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_state != LoadState.Loaded)
        {
            return;
        }

        if (!HasChanges)
        {
            await RefreshIfDueAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Moved)
        {
            _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
            throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                "The session key this request presented was rotated away (a sign-in in the same browser) while the request was on its way; its changes were not saved.");
        }

        if (_stored is null && _items.Count == 0 && !_bindingPending && !_idleTimeoutChosen)
        {
            _changes.Reset(); // a new session that ended up empty: nothing to store
            return;
        }

        var pending = new PendingCommit(_stored, _changes.Copy(), NewHeader(), _idleTimeout, _items,
            _idleTimeoutChosen ? _chosenIdleTimeout : null, KeepExpiry);
        _itemsShared = true; // the writer may encode them, and hand them to the near cache
        _stored = await _backend.Storage.CommitAsync(_storageKey, pending, cancellationToken).ConfigureAwait(false);
        // The view is now what was stored, which may hold other requests' changes merged in: a later commit, refresh or
        // rotation builds on it, never on this request's older view.
        _items = pending.StoredItems ?? _backend.Codec.DecodeItems(_stored);
        WroteThisRequest = true;
        _id = _stored.Header.Id;
        _changes.Reset();
        _bindingPending = false;
        _idleTimeoutChosen = false;
        _chosenIdleTimeout = null;
    }

    /// <summary>This request stored a change of the session (the client's token then carries the new revision).</summary>
    internal bool WroteThisRequest { get; private set; }

    private async Task RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        if (_stored is null)
        {
            return;
        }

        if (KeepExpiry)
        {
            return;
        }

        var next = _backend.NextExpiry(_stored.Header, IdleTimeout);
        if (!SessionDeadline.IsRefreshDue(_stored.LeaseId, next, _backend.Time.GetUtcNow(), _backend.Options.EffectiveRefreshInterval))
        {
            return;
        }

        try
        {
            // Null when another request wrote the session meanwhile: its write moved the expiry.
            _itemsShared = true; // handed to the near cache with the touched version
            _stored = await _backend.Storage.TouchAsync(_storageKey, _stored, _items, next, cancellationToken).ConfigureAwait(false) ?? _stored;
        }
        catch (EtcdSessionException ex)
        {
            // A missed refresh only brings the expiry closer; the next request tries again.
            Log.RefreshFailed(_backend.SessionLogger, _id, ex);
        }
    }

    private SessionHeader NewHeader()
    {
        var now = _backend.Time.GetUtcNow();
        return new SessionHeader(_id, now, _chosenIdleTimeout ?? _idleTimeout, now + _backend.Options.AbsoluteTimeout, _backend.Codec.WriterName,
            _binding?.User, _binding?.Metadata, ChosenIdleTimeout: _chosenIdleTimeout);
    }
}
