using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Sessions;

// Flush: guarded writes that merge with concurrent requests, and the sliding-expiry refresh.
internal sealed partial class EtcdSession
{
    /// <inheritdoc />
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_state != LoadState.Loaded)
        {
            return;
        }

        if (!_changes.Any && !_bindingPending)
        {
            await RefreshIfDueAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_stored is null && _items.Count == 0 && !_bindingPending)
        {
            _changes.Reset(); // a new session that ended up empty: nothing to store
            return;
        }

        var attempts = _backend.Options.MaxCommitAttempts;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var header = _stored is null
                ? NewHeader()
                : _stored.Header with { IdleTimeout = _idleTimeout, Serializer = _backend.Serializers.Writer.Name };
            var value = Encode(header);
            var lease = await _backend.Leases.AcquireAsync(_backend.NextExpiry(header, _idleTimeout), cancellationToken).ConfigureAwait(false);
            var txn = _stored is null
                ? SessionTransactions.Create(_storageKey, value, lease)
                : SessionTransactions.Update(_storageKey, _stored.ModRevision, value, lease);
            AddIndexWrite(txn, header, _storageKey, lease);

            Etcdserverpb.TxnResponse response;
            try
            {
                response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex) when (EtcdGateway.IsLeaseNotFound(ex.InnerException))
            {
                _backend.Leases.Forget(lease); // revoked behind our back: grant it again
                continue;
            }

            if (response.Succeeded)
            {
                Log.Committed(_backend.SessionLogger, _id, _stored is null, value.Length);
                _backend.Metrics?.Committed(created: _stored is null);
                _stored = new StoredSession(header, value, response.Header.Revision, lease);
                _changes.Reset();
                _bindingPending = false;
                return;
            }

            var current = SessionTransactions.ReadBack(response);
            if (current is null && _stored is not null)
            {
                // Destroyed (e.g. "sign out everywhere") or expired while this request ran: never resurrect it.
                Log.VanishedBeforeCommit(_backend.SessionLogger, _id);
                _stored = null;
                _changes.Reset();
                return;
            }

            if (current is not null)
            {
                var (fresh, items) = _backend.Decode(current);
                _stored = fresh;
                _id = fresh.Header.Id;
                _items = items;
                _changes.ApplyTo(_items);
                Log.MergedConcurrentWrite(_backend.SessionLogger, _id, attempt);
                _backend.Metrics?.Merged();
            }
        }

        _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
        throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
            $"Session {_id} changed concurrently {attempts} times while this request committed (MaxCommitAttempts = {attempts}); its changes were not saved.");
    }

    private async Task RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        if (_stored is null)
        {
            return;
        }

        var next = _backend.NextExpiry(_stored.Header, _idleTimeout);
        if (ExpiryLease.ExpiryOf(_stored.LeaseId) is { } current && next - current < _backend.Options.EffectiveRefreshInterval)
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
        return new SessionHeader(_id, now, _idleTimeout, now + _backend.Options.AbsoluteTimeout, _backend.Serializers.Writer.Name, _binding?.User, _binding?.Metadata);
    }

    private ByteString Encode(SessionHeader header)
    {
        var bytes = SessionEnvelope.Encode(header, _backend.Serializers.Writer, _items);
        var limit = _backend.Options.MaxSessionBytes;
        if (bytes.Length > limit)
        {
            _backend.Metrics?.Failed(EtcdSessionErrorKind.TooLarge);
            throw new EtcdSessionException(EtcdSessionErrorKind.TooLarge,
                $"Session {_id} is {bytes.Length:N0} bytes when serialized; the limit (MaxSessionBytes) is {limit:N0} bytes. Nothing was written.");
        }

        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
