using System.Diagnostics.CodeAnalysis;
using System.Text;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// One request's view of a session stored in etcd: what was loaded, and this request's change log. Load once, then
/// every synchronous member works in memory; <see cref="CommitAsync"/> writes only what changed, merging with
/// concurrent writers. It decides; <see cref="SessionStorage"/> does the etcd I/O. Not thread-safe, like every
/// <see cref="ISession"/>: one request uses it.
/// </summary>
internal sealed partial class EtcdSession : ISession
{
    private readonly SessionBackend _backend;
    private readonly Func<bool> _tryEstablishSession;
    private readonly bool _strictKeys;
    private readonly TimeSpan _idleTimeout;
    private TimeSpan? _chosenIdleTimeout;
    private bool _idleTimeoutChosen;
    private readonly SessionChanges _changes = new();
    private IReadOnlyDictionary<string, byte[]> _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
    private bool _itemsShared;
    private readonly long _minRevision;
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
    /// <param name="minRevision">The revision of the client's own last write, as its token says (0 if unknown): the near cache answers only with a version at least as new.</param>
    public EtcdSession(SessionBackend backend, string secret, TimeSpan idleTimeout, Func<bool> tryEstablishSession, bool isNewSessionKey, bool strictKeys, long minRevision = 0)
    {
        _minRevision = minRevision;
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

    /// <summary>Reads of this session may be answered by the near cache (strict keys only: the stock middleware's cookie carries no revision).</summary>
    internal bool ReadsFromNearCache => _strictKeys && _backend.NearCache is not null;

    /// <summary>The session exists in etcd (as this request last saw it).</summary>
    internal bool IsStored => _stored is not null;

    /// <summary>The request changed the session (or bound it to a user, or chose its idle timeout) and has not committed yet.</summary>
    internal bool HasChanges => _changes.Any || _bindingPending || _idleTimeoutChosen;

    /// <summary>The request must not push the session's expiry forward (<c>WithoutSessionRefresh()</c>); its writes keep the current expiry.</summary>
    internal bool KeepExpiry { get; set; }

    /// <summary>The idle timeout in force for this session: the one chosen for it (<c>SetIdleTimeout</c>), else the app's.</summary>
    internal TimeSpan IdleTimeout => ChosenIdleTimeout ?? _idleTimeout;

    /// <summary>
    /// Gives this one session its own idle timeout from this request's commit on (a "remember me" sign-in, say). It is
    /// stored with the session, survives rotation, and is still capped by <see cref="EtcdSessionOptions.AbsoluteTimeout"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside what <see cref="EtcdSessionOptions.IdleTimeout"/> allows (2 seconds to 365 days).</exception>
    internal void SetIdleTimeout(TimeSpan idleTimeout)
    {
        if (idleTimeout < EtcdSessionOptions.MinIdleTimeout || idleTimeout > EtcdSessionOptions.MaxIdleTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout,
                $"A session's idle timeout must be between {EtcdSessionOptions.MinIdleTimeout.TotalSeconds:0} seconds (etcd's shortest lease) and {EtcdSessionOptions.MaxIdleTimeout.TotalDays:0} days, as IdleTimeout.");
        }

        ThrowIfNotWritable();
        _chosenIdleTimeout = idleTimeout;
        _idleTimeoutChosen = true;
        ChoseIdleTimeout = true;
    }

    /// <summary><see cref="SetIdleTimeout"/> ran during this request (the cookie is re-issued to match).</summary>
    internal bool ChoseIdleTimeout { get; private set; }

    /// <summary>The idle timeout chosen for this session, stored or about to be, if any.</summary>
    internal TimeSpan? ChosenIdleTimeout => _idleTimeoutChosen ? _chosenIdleTimeout : _stored?.Header.ChosenIdleTimeout;

    /// <summary>The <c>mod_revision</c> of the stored session as this request last saw or wrote it, if it is stored.</summary>
    internal long? Revision => _stored?.ModRevision;

    /// <summary>When the stored session was created, if it is stored.</summary>
    internal DateTimeOffset? Created => _stored?.Header.Created;

    /// <summary>When the stored session expires unless used again, if it is stored.</summary>
    internal DateTimeOffset? ExpiresAt => _stored is null ? null : SessionBackend.DeadlineOf(_stored);

    /// <inheritdoc />
    public bool IsAvailable => _state == LoadState.Loaded;

    /// <summary>The session cannot be loaded (its key could not be checked): it reads as unavailable and cannot change.</summary>
    internal void MarkUnavailable() => _state = LoadState.Unavailable;

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
    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value)
    {
        ThrowIfNotLoaded();
        if (!_items.TryGetValue(key, out value))
        {
            return false;
        }

        if (_itemsShared)
        {
            value = value.AsSpan().ToArray(); // the near cache's copy serves other requests too: the caller gets its own
        }

        return true;
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
        OwnItems()[key] = copy;
        _changes.Set(key, copy);
    }

    /// <inheritdoc />
    public void Remove(string key)
    {
        ThrowIfNotWritable();
        if (_items.ContainsKey(key) && OwnItems().Remove(key))
        {
            _changes.Remove(key);
        }
    }

    /// <inheritdoc />
    public void Clear()
    {
        ThrowIfNotWritable();
        _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        _itemsShared = false;
        _changes.Clear();
    }

    /// <summary>
    /// The items as a dictionary this request may change: the loaded one, or a copy of it when it is shared (the near
    /// cache's, or what a commit handed to it).
    /// </summary>
    private Dictionary<string, byte[]> OwnItems()
    {
        if (_itemsShared || _items is not Dictionary<string, byte[]> own)
        {
            own = new Dictionary<string, byte[]>(_items, StringComparer.Ordinal);
            _items = own;
            _itemsShared = false;
        }

        return own;
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
            throw new ArgumentException("The item key is not valid Unicode (it contains a lone surrogate).", nameof(key), ex);
        }

        if (bytes > StoreLimits.MaxItemKeyBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(key), $"The item key is {bytes} bytes in UTF-8; the limit is {StoreLimits.MaxItemKeyBytes}.");
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
