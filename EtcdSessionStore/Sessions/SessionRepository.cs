using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// The storage path of a session, the only code of the lifecycle that talks to etcd: load, commit (a request's change
/// set), touch, rotate and destroy, each with an explicit result. Inside it, and nowhere else: the batching of commits
/// (per session and across sessions, <see cref="Batcher{TItem, TResult}"/>), merge-and-retry
/// (<see cref="RetryBudget.RetryConflictsAsync"/>), commit ids, the user-index writes of a bound session, and the near
/// cache, used cache-aside: it reads from the cache what the cache can prove fresh, and offers it only the answers of
/// reads and writes it tracked before they were sent, which the cache accepts only where its watch covers them
/// (<see cref="SessionCache.Cover"/>). <see cref="EtcdSession"/> holds the request's state and calls this.
/// </summary>
internal sealed partial class SessionRepository
{
    /// <summary>
    /// How long the old key says "moved" after a rotation: longer than a request that the browser sent before it saw
    /// the new cookie takes to arrive.
    /// </summary>
    private static readonly TimeSpan MovedMarkerLifetime = TimeSpan.FromMinutes(1);

    private readonly EtcdSessionOptions _options;
    private readonly EtcdGateway _gateway;
    private readonly ExpiryLeasePool _leases;
    private readonly SessionCodec _codec;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SessionMetrics? _metrics;
    private readonly SessionCache? _cache;
    private readonly NearCacheMetrics? _cacheMetrics;

    public SessionRepository(
        EtcdSessionOptions options,
        EtcdGateway gateway,
        ExpiryLeasePool leases,
        SessionCodec codec,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        SessionMetrics? metrics = null,
        NearCacheInstance? nearCache = null)
    {
        _options = options;
        _gateway = gateway;
        _leases = leases;
        _codec = codec;
        _time = time;
        _logger = loggerFactory.CreateLogger<EtcdSession>(); // the session log's category, as configuration.md lists it
        _metrics = metrics;
        _cache = nearCache?.Cache;
        _cacheMetrics = nearCache?.Metrics;
        _group = new(ChooseForGroup, SendGroupAsync, "waited for other sessions' transaction", "waited for etcd to answer its transaction");
    }

    /// <summary>
    /// A read can be answered at the revision the client last wrote (the near cache is on): the client's token should
    /// carry that revision.
    /// </summary>
    public bool ReadsAtRevision => _cache is not null;

    public string StorageKey(string secret) => SessionKeys.StorageKey(_options.KeyPrefix, secret);

    /// <summary>
    /// Load: from the near cache when it can prove its copy is fresh and at least as new as
    /// <paramref name="minRevision"/> (the client's own last write; <see langword="null"/>: not from the cache); otherwise
    /// one Range (whose answer the cache keeps), decoded, and checked against its deadline.
    /// </summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="lookForMoved">For a key that names nothing, a second Range tells whether a rotation just moved it.</param>
    /// <param name="minRevision">The oldest version the client may see; <see langword="null"/>: the cache is not asked.</param>
    /// <param name="cancellationToken">The request's.</param>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public async Task<Loaded> LoadAsync(string storageKey, bool lookForMoved, long? minRevision, CancellationToken cancellationToken)
    {
        if (_cache is not null && minRevision is { } atLeast)
        {
            var lookup = _cache.TryGet(storageKey, atLeast, out var cached);
            _cacheMetrics?.Looked(lookup);
            if (lookup == CacheLookup.Hit)
            {
                return Found(cached!.Session, cached.Items, shared: true);
            }
        }

        var tracked = _cache?.Track(storageKey); // before the Range: an event that overtakes its answer is not lost
        var response = await _gateway.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(storageKey) }, cancellationToken).ConfigureAwait(false);
        var kv = response.Kvs.Count == 0 ? null : response.Kvs[0];
        tracked?.OfferStored(kv, response.Header.Revision);
        if (kv is null)
        {
            Log.NotFound(_logger);
            _metrics?.Loaded("not_found");
            // Only for a key that names nothing (rare): did a rotation move the session away from it a moment ago?
            return new Loaded(lookForMoved && await IsMovedAsync(storageKey, cancellationToken).ConfigureAwait(false) ? LoadOutcome.Moved : LoadOutcome.NotFound);
        }

        StoredSession stored;
        Dictionary<string, byte[]> items;
        try
        {
            (stored, items) = _codec.Decode(kv);
        }
        catch (EtcdSessionException ex)
        {
            // The value is left untouched in etcd for inspection.
            Log.Unreadable(_logger, ex.Message, ex);
            _metrics?.Loaded("unreadable");
            _metrics?.Failed(ex.Kind);
            return new Loaded(LoadOutcome.Unreadable);
        }

        return Found(stored, items, shared: false);
    }

    private Loaded Found(StoredSession stored, IReadOnlyDictionary<string, byte[]> items, bool shared)
    {
        if (IsPastDeadline(stored))
        {
            // etcd has not removed it yet (leases restart on a leader change): expired all the same.
            Log.ExpiredOnRead(_logger, stored.Header.Id);
            _metrics?.Loaded("expired");
            return new Loaded(LoadOutcome.Expired);
        }

        _metrics?.Loaded("found");
        return new Loaded(LoadOutcome.Found, stored, items, shared);
    }

    /// <summary>
    /// Touch: when a refresh is due (<see cref="EtcdSessionOptions.RefreshInterval"/>), moves the session to the lease of
    /// its next expiry without resending its value. A failure is logged, not thrown: a missed refresh only brings the
    /// expiry closer, and the next request tries again.
    /// </summary>
    /// <param name="storageKey">The session's etcd key.</param>
    /// <param name="stored">The version the request holds.</param>
    /// <param name="items">Its items, for the near cache (never changed afterwards).</param>
    /// <param name="idleTimeout">The idle timeout in force for the session.</param>
    /// <param name="cancellationToken">The request's.</param>
    public async Task<Touched> TouchAsync(string storageKey, StoredSession stored, IReadOnlyDictionary<string, byte[]> items, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var next = NextExpiry(stored.Header, idleTimeout);
        if (!SessionDeadline.IsRefreshDue(stored.LeaseId, next, _time.GetUtcNow(), _options.EffectiveRefreshInterval))
        {
            return new Touched(TouchOutcome.NotDue, stored);
        }

        try
        {
            var lease = await _leases.AcquireAsync(next, cancellationToken).ConfigureAwait(false);
            var touch = SessionTransactions.Touch(storageKey, stored.ModRevision, lease);
            AddIndexWrite(touch, stored.Header, storageKey, lease);
            var tracked = _cache?.Track(storageKey);
            var response = await _gateway.TxnAsync(touch, cancellationToken).ConfigureAwait(false);
            if (!response.Succeeded)
            {
                return new Touched(TouchOutcome.WrittenMeanwhile, stored); // another request's write moved the expiry
            }

            var touched = stored with { ModRevision = response.Header.Revision, LeaseId = lease };
            tracked?.OfferWritten(touched, items);
            return new Touched(TouchOutcome.Touched, touched);
        }
        catch (EtcdSessionException ex)
        {
            Log.RefreshFailed(_logger, stored.Header.Id, ex);
            return new Touched(TouchOutcome.Failed, stored);
        }
    }

    /// <summary>
    /// Rotate (change-id): the session appears at <paramref name="newKey"/> on its lease, the old key vanishes and leaves a
    /// "moved" marker, in one revision. A session changed meanwhile is read back, the request's
    /// <paramref name="changes"/> are applied over it, and the rotation is tried again within IOTimeout. With
    /// <paramref name="binding"/> the session is bound to that user in the same transaction, and the value written holds
    /// the request's view (its changes stored with it); without, the stored value moves unchanged.
    /// </summary>
    /// <param name="id">The session's public id, for the log.</param>
    /// <param name="oldKey">The session's etcd key now.</param>
    /// <param name="stored">The version the request holds; <see langword="null"/>: not stored yet, only the key changes.</param>
    /// <param name="items">The request's view: <paramref name="stored"/>'s items with <paramref name="changes"/> applied.</param>
    /// <param name="changes">The request's changes, re-applied over a version written meanwhile.</param>
    /// <param name="newKey">Where the session goes.</param>
    /// <param name="binding">The user to bind it to, if this is a sign-in.</param>
    /// <param name="cancellationToken">The request's.</param>
    /// <exception cref="EtcdSessionException">etcd failed, or the session kept changing for all of IOTimeout (<see cref="EtcdSessionErrorKind.Conflict"/>).</exception>
    public Task<Rotated> RotateAsync(string id, string oldKey, StoredSession? stored, IReadOnlyDictionary<string, byte[]> items, SessionChanges changes, string newKey,
        UserBinding? binding, CancellationToken cancellationToken)
    {
        if (stored is null)
        {
            return Task.FromResult(Rotation(RotateOutcome.NotStored, null, items).Item2); // nothing stored to move: only the key changes
        }

        var marker = SessionKeys.MovedMarker(_options.KeyPrefix, oldKey);
        return RetryBudget.RetryConflictsAsync<Rotated>(RetryBudget.Start(_options.IOTimeout), async _ =>
        {
            var header = binding is null ? stored.Header : stored.Header with { User = binding.User, Metadata = binding.Metadata };
            var value = binding is null ? stored.Value : _codec.Encode(header, items);
            var markerLease = await _leases.AcquireAsync(_time.GetUtcNow() + MovedMarkerLifetime, cancellationToken).ConfigureAwait(false);
            var txn = SessionTransactions.Rotate(oldKey, stored.ModRevision, newKey, value, stored.LeaseId, marker, markerLease);
            AddIndexWrite(txn, header, newKey, stored.LeaseId);
            if (stored.Header.User is { } previous && !string.Equals(previous, header.User, StringComparison.Ordinal))
            {
                SessionTransactions.DeleteEntry(txn, UserSessionIndex.EntryKey(_options.KeyPrefix, previous, stored.Header.Id));
            }

            var response = await _gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                // This instance never serves the old key again, even before its watch reports the rotation.
                _cache?.OfferGone(oldKey, response.Header.Revision);
                return Rotation(RotateOutcome.Rotated, new StoredSession(header, value, response.Header.Revision, stored.LeaseId), items);
            }

            if (SessionTransactions.ReadBackRotated(response) is { } rotated)
            {
                // Only this request knows the new secret: an earlier attempt was applied and its reply was lost; what it
                // wrote (the user binding, the request's changes) is what is stored now.
                return Rotation(RotateOutcome.Rotated, _codec.Decode(rotated).Stored, items);
            }

            if (SessionTransactions.ReadBack(response) is not { } current)
            {
                // Gone. Another rotation of the same browser's session (its marker is there) is not an end of the session.
                if (await IsMovedAsync(oldKey, cancellationToken).ConfigureAwait(false))
                {
                    return Rotation(RotateOutcome.Moved, null, items);
                }

                Log.VanishedBeforeCommit(_logger, stored.Header.Id);
                return Rotation(RotateOutcome.Gone, null, items);
            }

            var (fresh, freshItems) = _codec.Decode(current);
            changes.ApplyTo(freshItems);
            (stored, items) = (fresh, freshItems);
            return default;
        }, () => throw Conflict($"Session {stored.Header.Id} kept changing concurrently for longer than IOTimeout while its id was being rotated; the old id is still in force."),
        cancellationToken);

        (bool, Rotated) Rotation(RotateOutcome outcome, StoredSession? now, IReadOnlyDictionary<string, byte[]> view)
        {
            if (outcome != RotateOutcome.Moved)
            {
                Log.Rotated(_logger, id);
                _metrics?.Rotated();
            }

            return (true, new Rotated(outcome, now, view));
        }
    }

    /// <summary>
    /// Destroy: deletes the session and its index entry together, guarded on the revision last seen: a write made
    /// meanwhile (a binding, say) is read back and the delete is tried again on it, within IOTimeout, so that its index
    /// entry goes too, and a rotation that overtakes the read-back is noticed rather than deleted past. A session the
    /// request could not read (<paramref name="stored"/> is <see langword="null"/>) is deleted by its key alone.
    /// </summary>
    /// <returns>
    /// <see cref="DestroyOutcome.Moved"/> when nothing was destroyed because another request rotated the session to a key
    /// only it knows (its "moved" marker is there): the session lives on under that key.
    /// </returns>
    /// <exception cref="EtcdSessionException">etcd failed, or the session kept changing for all of IOTimeout.</exception>
    public async Task<DestroyOutcome> DestroyAsync(string storageKey, string id, StoredSession? stored, CancellationToken cancellationToken)
    {
        if (stored is null)
        {
            var removed = await _gateway.TxnAsync(SessionTransactions.Remove(storageKey, modRevision: null, entryKey: null), cancellationToken).ConfigureAwait(false);
            _cache?.OfferGone(storageKey, removed.Header.Revision);
            return Destroyed(id);
        }

        var (modRevision, header) = (stored.ModRevision, stored.Header);
        return await RetryBudget.RetryConflictsAsync<DestroyOutcome>(RetryBudget.Start(_options.IOTimeout), async _ =>
        {
            var response = await _gateway.TxnAsync(SessionTransactions.Remove(storageKey, modRevision, header.User is { } user ? UserSessionIndex.EntryKey(_options.KeyPrefix, user, header.Id) : null), cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _cache?.OfferGone(storageKey, response.Header.Revision);
                return (true, Destroyed(id));
            }

            if (SessionTransactions.ReadBack(response) is not { } current)
            {
                // Gone: destroyed or expired already (done), or rotated away (not destroyed).
                return (true, await IsMovedAsync(storageKey, cancellationToken).ConfigureAwait(false) ? DestroyOutcome.Moved : Destroyed(id));
            }

            (modRevision, header) = (current.ModRevision, TryDecodeHeader(current) ?? header);
            return default;
        }, () => throw Conflict($"Session {header.Id} kept changing concurrently for longer than IOTimeout while it was being destroyed; it was not destroyed."),
        cancellationToken).ConfigureAwait(false);
    }

    private DestroyOutcome Destroyed(string id)
    {
        Log.Destroyed(_logger, id);
        _metrics?.Destroyed(1);
        return DestroyOutcome.Destroyed;
    }

    /// <summary>A <see cref="EtcdSessionErrorKind.Conflict"/>, counted: the request's operation lost to another request's.</summary>
    public EtcdSessionException Conflict(string message)
    {
        _metrics?.Failed(EtcdSessionErrorKind.Conflict);
        return new EtcdSessionException(EtcdSessionErrorKind.Conflict, message);
    }

    /// <summary>The stored session is past its deadline now (etcd may not have removed it yet: leases restart on a leader change).</summary>
    private bool IsPastDeadline(StoredSession stored) => SessionDeadline.IsPast(stored.Deadline, _time.GetUtcNow());

    /// <summary>The expiry a write made now gives the session.</summary>
    private DateTimeOffset NextExpiry(SessionHeader header, TimeSpan idleTimeout) => SessionDeadline.Next(_time.GetUtcNow(), idleTimeout, header.AbsoluteExpiry);

    /// <summary>A rotation moved the session away from <paramref name="storageKey"/> a moment ago (its marker is there).</summary>
    private async Task<bool> IsMovedAsync(string storageKey, CancellationToken cancellationToken) =>
        await _gateway.GetAsync(SessionKeys.MovedMarker(_options.KeyPrefix, storageKey), cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>A bound session's user-index entry goes with every write of it, in the same transaction and on the same lease.</summary>
    private void AddIndexWrite(TxnRequest txn, SessionHeader header, string storageKey, long lease)
    {
        if (header.User is not null)
        {
            SessionTransactions.PutEntry(txn, UserSessionIndex.EntryKey(_options.KeyPrefix, header.User, header.Id), UserSessionIndex.Encode(header, storageKey, _time.GetUtcNow()), lease);
        }
    }

    private SessionHeader? TryDecodeHeader(KeyValue kv)
    {
        try
        {
            return SessionCodec.DecodeHeader(kv); // the header alone: neither items deserialized nor a seal opened
        }
        catch (EtcdSessionException)
        {
            return null;
        }
    }
}
