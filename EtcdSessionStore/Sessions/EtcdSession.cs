using System.Diagnostics.CodeAnalysis;
using System.Text;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// One request's view of a session stored in etcd. Load once (one Range), then every synchronous
/// member works in memory; <see cref="CommitAsync"/> writes only what changed, merging with concurrent
/// writers. Not thread-safe, like every <see cref="ISession"/>: one request uses it.
/// </summary>
internal sealed partial class EtcdSession : ISession
{
    private readonly SessionBackend _backend;
    private readonly Func<bool> _tryEstablishSession;
    private readonly bool _strictKeys;
    private readonly TimeSpan _idleTimeout;
    private readonly SessionChanges _changes = new();
    private Dictionary<string, byte[]> _items = new(StringComparer.Ordinal);
    private LoadState _state;
    private StoredSession? _stored;
    private string _id;
    private string _secret;
    private string _storageKey;

    /// <param name="backend">Shared settings and etcd access.</param>
    /// <param name="secret">The secret session key the client presented, or a new one.</param>
    /// <param name="idleTimeout">The sliding expiry to write the session with.</param>
    /// <param name="tryEstablishSession">Asks the host whether a new session can still be announced to the client.</param>
    /// <param name="isNewSessionKey">The key was just generated: nothing to load.</param>
    /// <param name="strictKeys">A key that names no readable session is replaced by a new one instead of adopted.</param>
    public EtcdSession(SessionBackend backend, string secret, TimeSpan idleTimeout, Func<bool> tryEstablishSession, bool isNewSessionKey, bool strictKeys)
    {
        _backend = backend;
        _secret = secret;
        _storageKey = backend.StorageKey(secret);
        _idleTimeout = idleTimeout;
        _tryEstablishSession = tryEstablishSession;
        _strictKeys = strictKeys;
        _state = isNewSessionKey ? LoadState.Loaded : LoadState.NotLoaded;
        _id = SessionKeys.NewPublicId();
    }

    private enum LoadState
    {
        NotLoaded,
        Loaded,
        Unavailable,
    }

    /// <summary>The secret session key in force now (changed by rotation, destroy or strict re-keying).</summary>
    internal string SessionKey => _secret;

    /// <summary>The etcd key of the session.</summary>
    internal string StorageKey => _storageKey;

    /// <summary>The session exists in etcd (as this request last saw it).</summary>
    internal bool IsStored => _stored is not null;

    /// <summary>The request changed the session (or bound it to a user) and has not committed yet.</summary>
    internal bool HasChanges => _changes.Any || _bindingPending;

    /// <summary><see cref="DestroyAsync"/> ran during this request.</summary>
    internal bool WasDestroyed { get; private set; }

    /// <summary>When the stored session was created, if it is stored.</summary>
    internal DateTimeOffset? Created => _stored?.Header.Created;

    /// <summary>When the stored session expires unless used again, if it is stored.</summary>
    internal DateTimeOffset? ExpiresAt => _stored is null ? null : SessionBackend.DeadlineOf(_stored);

    /// <inheritdoc />
    public bool IsAvailable => _state == LoadState.Loaded;

    /// <inheritdoc />
    public string Id
    {
        get
        {
            ThrowIfNotLoaded();
            return _id;
        }
    }

    /// <inheritdoc />
    public IEnumerable<string> Keys
    {
        get
        {
            ThrowIfNotLoaded();
            return _items.Keys;
        }
    }

    /// <inheritdoc />
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_state != LoadState.NotLoaded)
        {
            return;
        }

        KeyValue? kv;
        try
        {
            kv = await _backend.Gateway.GetAsync(_storageKey, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException)
        {
            _state = LoadState.Unavailable;
            throw;
        }

        Adopt(kv);
    }

    /// <inheritdoc />
    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value)
    {
        ThrowIfNotLoaded();
        return _items.TryGetValue(key, out value);
    }

    /// <inheritdoc />
    public void Set(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ValidateKey(key);
        ThrowIfNotWritable();
        if (_stored is null && !_changes.Any && !_tryEstablishSession())
        {
            throw new InvalidOperationException("The session cannot be established after the response has started.");
        }

        var copy = value.AsSpan().ToArray();
        _items[key] = copy;
        _changes.Set(key, copy);
    }

    /// <inheritdoc />
    public void Remove(string key)
    {
        ThrowIfNotWritable();
        if (_items.Remove(key))
        {
            _changes.Remove(key);
        }
    }

    /// <inheritdoc />
    public void Clear()
    {
        ThrowIfNotWritable();
        _items.Clear();
        _changes.Clear();
    }

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
        var attempts = _backend.Options.MaxCommitAttempts;
        for (var attempt = 1; _stored is not null; attempt++)
        {
            if (attempt > attempts)
            {
                _backend.Metrics?.Failed(EtcdSessionErrorKind.Conflict);
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
                    $"Session {_id} changed concurrently {attempts} times while its id was being rotated; the old id is still in force.");
            }

            var newKey = _backend.StorageKey(newSecret);
            var (header, value) = binding is null ? (_stored.Header, _stored.Value) : Rebind(binding);
            var txn = SessionTransactions.Rotate(_storageKey, _stored.ModRevision, newKey, value, _stored.LeaseId);
            AddIndexWrite(txn, header, newKey, _stored.LeaseId);
            AddIndexDeleteOnRebind(txn, header);
            var response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _stored = new StoredSession(header, value, response.Header.Revision, _stored.LeaseId);
                if (binding is not null)
                {
                    _changes.Reset(); // the rotation wrote this request's changes along with the new header
                }

                break;
            }

            if (SessionTransactions.ReadBackRotated(response) is { } rotated)
            {
                // Only this request knows the new secret: an earlier attempt was applied and its reply was lost.
                _stored = _stored with { ModRevision = rotated.ModRevision, LeaseId = rotated.Lease };
                break;
            }

            var current = SessionTransactions.ReadBack(response);
            if (current is null)
            {
                Log.VanishedBeforeCommit(_backend.SessionLogger, _id);
                StartOver(newKey: false);
                break;
            }

            var (fresh, items) = _backend.Decode(current);
            _stored = fresh;
            _items = items;
            _changes.ApplyTo(_items);
        }

        if (binding is not null && _stored is null)
        {
            // Not stored yet: the first commit writes the session already bound.
            _binding = binding;
            _bindingPending = true;
        }

        _secret = newSecret;
        _storageKey = _backend.StorageKey(newSecret);
        Log.Rotated(_backend.SessionLogger, _id);
        _backend.Metrics?.Rotated();
        return newSecret;
    }

    /// <summary>Deletes exactly this session from etcd; afterwards this object is a new, empty session with a new key.</summary>
    public async Task DestroyAsync(CancellationToken cancellationToken)
    {
        await DeleteWithIndexAsync(cancellationToken).ConfigureAwait(false);
        Log.Destroyed(_backend.SessionLogger, _id);
        _backend.Metrics?.Destroyed(1);
        WasDestroyed = true;
        _state = LoadState.Loaded;
        StartOver(newKey: true);
    }

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
            (stored, items) = _backend.Decode(kv);
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

        if (SessionBackend.DeadlineOf(stored) is { } deadline && deadline <= _backend.Time.GetUtcNow())
        {
            // etcd has not removed it yet (leases restart on a leader change): expired all the same.
            Log.ExpiredOnRead(_backend.SessionLogger, stored.Header.Id);
            _backend.Metrics?.Loaded("expired");
            StartOver(newKey: _strictKeys);
            return;
        }

        _stored = stored;
        _items = items;
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
        _changes.Reset();
        _binding = null;
        _bindingPending = false;
        _id = SessionKeys.NewPublicId();
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

    private static void ValidateKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("The session key is not valid Unicode (it contains a lone surrogate).", nameof(key), ex);
        }

        if (bytes > EtcdSessionDefaults.MaxItemKeyBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(key), $"The session key is {bytes} bytes in UTF-8; the limit is {EtcdSessionDefaults.MaxItemKeyBytes}.");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private void ThrowIfNotLoaded()
    {
        if (_state == LoadState.NotLoaded)
        {
            throw new InvalidOperationException(
                "The etcd session has not been loaded: await HttpContext.Session.LoadAsync() first, or use app.UseEtcdSession(), which loads it before the endpoint runs. The store never loads synchronously.");
        }
    }

    private void ThrowIfNotWritable()
    {
        ThrowIfNotLoaded();
        if (_state == LoadState.Unavailable)
        {
            throw new InvalidOperationException(
                "The session is unavailable (etcd could not be reached or its stored value could not be read), so it cannot be changed; check ISession.IsAvailable.");
        }
    }
}
