using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;

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
        _stored = await _backend.Commits.CommitAsync(_storageKey, pending, cancellationToken).ConfigureAwait(false);
        _id = _stored.Header.Id;
        _changes.Reset();
        _bindingPending = false;
        _idleTimeoutChosen = false;
        _chosenIdleTimeout = null;
    }

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
        if (!SessionDeadline.IsRefreshDue(_stored.LeaseId, next, _backend.Options.EffectiveRefreshInterval))
        {
            return;
        }

        try
        {
            var lease = await _backend.Leases.AcquireAsync(next, cancellationToken).ConfigureAwait(false);
            var touch = SessionTransactions.Touch(_storageKey, _stored.ModRevision, lease);
            AddIndexWrite(touch, _stored.Header, _storageKey, lease);
            var response = await _backend.Gateway.TxnAsync(touch, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _stored = _stored with { ModRevision = response.Header.Revision, LeaseId = lease };
            }

            // Otherwise another request wrote the session meanwhile, and its write moved the expiry.
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
        return new SessionHeader(_id, now, _chosenIdleTimeout ?? _idleTimeout, now + _backend.Options.AbsoluteTimeout, _backend.Serializers.Writer.Name,
            _binding?.User, _binding?.Metadata, ChosenIdleTimeout: _chosenIdleTimeout);
    }
}
