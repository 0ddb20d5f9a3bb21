using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// Every etcd operation of a session's lifecycle, in one place: retrieve, flush (through the instance's
/// <see cref="SessionCommitQueue"/>), touch, one attempt of change-id, and destroy. Each keeps a bound session's
/// user-index entry in step in the same transaction. <see cref="EtcdSession"/> holds the request's state and
/// decides; this class does the I/O.
/// </summary>
internal sealed class SessionStorage
{
    /// <summary>
    /// How long the old key says "moved" after a rotation: longer than a request that the browser sent before it saw
    /// the new cookie takes to arrive.
    /// </summary>
    private static readonly TimeSpan MovedMarkerLifetime = TimeSpan.FromMinutes(1);

    private readonly SessionBackend _backend;

    public SessionStorage(SessionBackend backend)
    {
        _backend = backend;
    }

    private string KeyPrefix => _backend.Options.KeyPrefix;

    /// <summary>
    /// Retrieve: from the near cache when it can prove its copy is fresh and at least as new as
    /// <paramref name="minRevision"/> (the client's own last write; <see langword="null"/>: not from the cache); otherwise
    /// one Range (whose answer the cache keeps), and for a key that names nothing, a second one tells whether a rotation
    /// just moved it.
    /// </summary>
    public async Task<LoadedSession> LoadAsync(string storageKey, bool lookForMoved, long? minRevision, CancellationToken cancellationToken)
    {
        var cache = _backend.NearCache;
        if (cache is not null && minRevision is { } atLeast)
        {
            var lookup = cache.TryGet(storageKey, atLeast, out var cached);
            _backend.NearCacheMetrics?.Looked(lookup);
            if (lookup == NearCache.CacheLookup.Hit)
            {
                return new LoadedSession(null, cached, Moved: false);
            }
        }

        var tracked = cache?.Track(storageKey); // before the Range: an event that overtakes its answer is not lost

        var response = await _backend.Gateway.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(storageKey) }, cancellationToken).ConfigureAwait(false);
        var kv = response.Kvs.Count == 0 ? null : response.Kvs[0];
        tracked?.OfferStored(kv, response.Header.Revision);
        var moved = kv is null && lookForMoved && await IsMovedAsync(storageKey, cancellationToken).ConfigureAwait(false);
        return new LoadedSession(kv, null, moved);
    }

    /// <summary>
    /// Flush: returns once <paramref name="commit"/> is stored, with other requests' commits of the same session or alone,
    /// within one deadline set here (IOTimeout from now) that every queue and call on its way shares.
    /// </summary>
    public async Task<StoredSession> CommitAsync(string storageKey, PendingCommit commit, CancellationToken cancellationToken)
    {
        try
        {
            return await _backend.Commits.CommitAsync(storageKey, commit, RetryBudget.Start(_backend.Options.IOTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex) when (ex.InnerException is TimeoutException)
        {
            _backend.Metrics?.Failed(EtcdSessionErrorKind.Timeout); // the commit's deadline, not an etcd call (those count themselves)
            throw;
        }
    }

    /// <summary>Moves the session to the lease of <paramref name="expiresAt"/> without resending its value (<paramref name="items"/> are its items, for the near cache).</summary>
    /// <returns>The session as stored now, or <see langword="null"/> when another request wrote it meanwhile (its write moved the expiry).</returns>
    public async Task<StoredSession?> TouchAsync(string storageKey, StoredSession stored, IReadOnlyDictionary<string, byte[]> items, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var lease = await _backend.Leases.AcquireAsync(expiresAt, cancellationToken).ConfigureAwait(false);
        var touch = SessionTransactions.Touch(storageKey, stored.ModRevision, lease);
        AddIndexWrite(touch, stored.Header, storageKey, lease);
        var tracked = _backend.NearCache?.Track(storageKey);
        var response = await _backend.Gateway.TxnAsync(touch, cancellationToken).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            return null;
        }

        var touched = stored with { ModRevision = response.Header.Revision, LeaseId = lease };
        tracked?.OfferWritten(touched, items);
        return touched;
    }

    /// <summary>
    /// One attempt of change-id: <paramref name="value"/> (with <paramref name="header"/>) appears at
    /// <paramref name="newKey"/> on the session's lease, the old key vanishes and leaves a "moved" marker, in one revision.
    /// </summary>
    public async Task<Rotation> RotateOnceAsync(string oldKey, StoredSession stored, string newKey, SessionHeader header, ByteString value, CancellationToken cancellationToken)
    {
        var marker = await _backend.Leases.AcquireAsync(_backend.Time.GetUtcNow() + MovedMarkerLifetime, cancellationToken).ConfigureAwait(false);
        var txn = SessionTransactions.Rotate(oldKey, stored.ModRevision, newKey, value, stored.LeaseId, SessionKeys.MovedMarker(KeyPrefix, oldKey), marker);
        AddIndexWrite(txn, header, newKey, stored.LeaseId);
        if (stored.Header.User is { } previous && !string.Equals(previous, header.User, StringComparison.Ordinal))
        {
            SessionTransactions.DeleteEntry(txn, UserSessionIndex.EntryKey(KeyPrefix, previous, stored.Header.Id));
        }

        var response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
        if (response.Succeeded)
        {
            // This instance never serves the old key again, even before its watch reports the rotation.
            _backend.NearCache?.OfferGone(oldKey, response.Header.Revision);
            return new Rotation(new StoredSession(header, value, response.Header.Revision, stored.LeaseId), null, Gone: false);
        }

        if (SessionTransactions.ReadBackRotated(response) is { } rotated)
        {
            // Only this request knows the new secret: an earlier attempt was applied and its reply was lost.
            return new Rotation(_backend.Codec.Decode(rotated).Stored, null, Gone: false);
        }

        if (SessionTransactions.ReadBack(response) is { } current)
        {
            return new Rotation(null, current, Gone: false);
        }

        // Gone. Another rotation of the same browser's session (its marker is there) is not an end of the session.
        return new Rotation(null, null, Gone: true, Moved: await IsMovedAsync(oldKey, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Destroy: deletes the session and its index entry together, guarded on the revision last seen: a write made
    /// meanwhile (a binding, say) is read back and the delete is tried again on it, within IOTimeout, so that its index
    /// entry goes too, and a rotation that overtakes the read-back is noticed rather than deleted past. A session this
    /// request could not read (<paramref name="stored"/> is <see langword="null"/>) is deleted by its key alone.
    /// </summary>
    /// <returns>
    /// <see langword="false"/> when nothing was destroyed because another request rotated the session to a key only it
    /// knows (its "moved" marker is there): the session lives on under that key.
    /// </returns>
    /// <exception cref="EtcdSessionException">etcd failed, or the session kept changing for all of IOTimeout.</exception>
    public async Task<bool> DestroyAsync(string storageKey, StoredSession? stored, CancellationToken cancellationToken)
    {
        if (stored is null)
        {
            var removed = await _backend.Gateway.TxnAsync(SessionTransactions.Remove(storageKey, modRevision: null, entryKey: null), cancellationToken).ConfigureAwait(false);
            _backend.NearCache?.OfferGone(storageKey, removed.Header.Revision);
            return true;
        }

        var budget = RetryBudget.Start(_backend.Options.IOTimeout);
        var (modRevision, header) = (stored.ModRevision, stored.Header);
        for (var attempt = 1; ; attempt++)
        {
            var response = await _backend.Gateway.TxnAsync(SessionTransactions.Remove(storageKey, modRevision, header.User is { } user ? UserSessionIndex.EntryKey(KeyPrefix, user, header.Id) : null), cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _backend.NearCache?.OfferGone(storageKey, response.Header.Revision);
                return true;
            }

            if (SessionTransactions.ReadBack(response) is not { } current)
            {
                // Gone: destroyed or expired already (done), or rotated away (not destroyed).
                return !await IsMovedAsync(storageKey, cancellationToken).ConfigureAwait(false);
            }

            if (budget.IsSpent)
            {
                _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                    $"Session {header.Id} kept changing concurrently for longer than IOTimeout while it was being destroyed; it was not destroyed.");
            }

            (modRevision, header) = (current.ModRevision, TryDecodeHeader(current) ?? header);
            await RetryBudget.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A rotation moved the session away from <paramref name="storageKey"/> a moment ago (its marker is there).</summary>
    private async Task<bool> IsMovedAsync(string storageKey, CancellationToken cancellationToken) =>
        await _backend.Gateway.GetAsync(SessionKeys.MovedMarker(KeyPrefix, storageKey), cancellationToken).ConfigureAwait(false) is not null;

    private void AddIndexWrite(TxnRequest txn, SessionHeader header, string storageKey, long lease)
    {
        if (header.User is not null)
        {
            SessionTransactions.PutEntry(txn, UserSessionIndex.EntryKey(KeyPrefix, header.User, header.Id), UserSessionIndex.Encode(header, storageKey, _backend.Time.GetUtcNow()), lease);
        }
    }

    private SessionHeader? TryDecodeHeader(KeyValue kv)
    {
        try
        {
            return _backend.Codec.Decode(kv).Stored.Header;
        }
        catch (EtcdSessionException)
        {
            return null;
        }
    }

    /// <summary>What a retrieve found: the stored key-value read from etcd, or the near cache's decoded copy, or neither.</summary>
    /// <param name="Stored">The key-value etcd returned, to decode.</param>
    /// <param name="Cached">The near cache's copy (shared: never changed).</param>
    /// <param name="Moved">A rotation moved the session away from the key a moment ago.</param>
    internal readonly record struct LoadedSession(KeyValue? Stored, NearCache.CachedSession.Decoded? Cached, bool Moved);

    /// <summary>What one attempt of change-id found.</summary>
    /// <param name="Stored">The session at its new key, when the rotation is done.</param>
    /// <param name="Current">The session as another request changed it meanwhile: merge and try again.</param>
    /// <param name="Gone">The session no longer exists under the old key.</param>
    /// <param name="Moved">Gone because another rotation moved it to a key only that rotation knows; otherwise destroyed or expired.</param>
    internal readonly record struct Rotation(StoredSession? Stored, KeyValue? Current, bool Gone, bool Moved = false);
}
