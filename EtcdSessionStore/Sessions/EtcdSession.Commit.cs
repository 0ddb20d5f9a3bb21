namespace Etcd.AspNetCore.Session.Sessions;

// Flush (the request's change set, written by the repository) and the sliding-expiry refresh.
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
            throw _repository.Conflict(
                "The session key this request presented was rotated away (a sign-in in the same browser) while the request was on its way; its changes were not saved.");
        }

        if (_stored is null && _items.Count == 0 && _changes.Binding is null && _changes.ChosenIdleTimeout is null)
        {
            _changes.Reset(); // a new session that ended up empty: nothing to store
            return;
        }

        var commit = _changes.ToCommit(_id, _stored, _items, _idleTimeout, _keepExpiry);
        _itemsShared = true; // the writer may encode them, and hand them to the near cache
        var committed = await _repository.CommitAsync(_storageKey, commit, cancellationToken).ConfigureAwait(false);
        // The view is now what was stored, which may hold other requests' changes merged in: a later commit, refresh or
        // rotation builds on it, never on this request's older view.
        _stored = committed.Stored;
        _items = committed.Items;
        _wroteThisRequest = true;
        _id = _stored.Header.Id;
        _changes.Reset();
    }

    private async Task RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        if (_stored is null || _keepExpiry)
        {
            return;
        }

        var touched = await _repository.TouchAsync(_storageKey, _stored, _items, IdleTimeout, cancellationToken).ConfigureAwait(false);
        if (touched.Outcome == TouchOutcome.Touched)
        {
            _stored = touched.Stored;
            _itemsShared = true; // handed to the near cache with the touched version
        }
    }
}
