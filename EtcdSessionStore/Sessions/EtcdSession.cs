using System.Diagnostics.CodeAnalysis;
using System.Text;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// One request's view of a session stored in etcd: what was loaded, and this request's change log. Load once, then
/// every synchronous member works in memory; <see cref="CommitAsync"/> writes only what changed, merging with
/// concurrent writers. It decides; <see cref="SessionRepository"/> does the etcd I/O. Not thread-safe, like every
/// <see cref="ISession"/>: one request uses it.
/// </summary>
internal sealed partial class EtcdSession : ISession
{
    private readonly SessionRepository _repository;
    private readonly Func<bool>? _tryEstablishSession;
    private bool _closedToNewSessions;
    private readonly bool _strictKeys;
    private readonly TimeSpan _idleTimeout;
    private TimeSpan? _chosenIdleTimeout; // by this request, not committed yet
    private readonly SessionChanges _changes = new();
    private IReadOnlyDictionary<string, byte[]> _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
    private bool _itemsShared;
    private readonly long _minRevision;
    private LoadState _state;
    private StoredSession? _stored;
    private string _id;
    private string _secret;
    private string _storageKey;

    /// <param name="repository">The storage path: every etcd operation of the session.</param>
    /// <param name="secret">The secret session key the client presented, or a new one.</param>
    /// <param name="idleTimeout">The sliding expiry to write the session with.</param>
    /// <param name="tryEstablishSession">
    /// The stock middleware's callback: whether a new session can still be announced to the client. <see langword="null"/>
    /// under <c>UseEtcdSession</c>, which calls <see cref="CloseToNewSessions"/> instead.
    /// </param>
    /// <param name="isNewSessionKey">The key was just generated: nothing to load.</param>
    /// <param name="strictKeys">A key that names no readable session is replaced by a new one instead of adopted.</param>
    /// <param name="minRevision">The revision of the client's own last write, as its token says (0 if unknown): the near cache answers only with a version at least as new.</param>
    public EtcdSession(SessionRepository repository, string secret, TimeSpan idleTimeout, Func<bool>? tryEstablishSession, bool isNewSessionKey, bool strictKeys, long minRevision = 0)
    {
        _minRevision = minRevision;
        _repository = repository;
        _secret = secret;
        _storageKey = repository.StorageKey(secret);
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

    /// <summary>
    /// The response is starting and the cookie has been decided: a session that is not stored by now could never reach
    /// the client, so it is not started (a first <see cref="Set"/> throws, as under the stock middleware).
    /// </summary>
    internal void CloseToNewSessions() => _closedToNewSessions = true;

    /// <summary>The secret session key in force now (changed by rotation, destroy or strict re-keying).</summary>
    internal string SessionKey => _secret;

    /// <summary>The etcd key of the session.</summary>
    internal string StorageKey => _storageKey;

    /// <summary>Reads of this session may be answered by the near cache (strict keys only: the stock middleware's cookie carries no revision).</summary>
    internal bool ReadsFromNearCache => _strictKeys && _repository.ReadsAtRevision;

    /// <summary>The session exists in etcd (as this request last saw it).</summary>
    internal bool IsStored => _stored is not null;

    /// <summary>The request changed the session (or bound it to a user, or chose its idle timeout) and has not committed yet.</summary>
    internal bool HasChanges => _changes.Any || _bindingPending || _chosenIdleTimeout is not null;

    /// <summary>The request must not push the session's expiry forward (<c>WithoutSessionRefresh()</c>); its writes keep the current expiry.</summary>
    internal bool KeepExpiry { get; set; }

    /// <summary>The <c>mod_revision</c> of the stored session as this request last saw or wrote it, if it is stored.</summary>
    internal long? Revision => _stored?.ModRevision;

    /// <summary>When the stored session was created, if it is stored.</summary>
    internal DateTimeOffset? Created => _stored?.Header.Created;

    /// <summary>When the stored session expires unless used again, if it is stored.</summary>
    internal DateTimeOffset? ExpiresAt => _stored?.Deadline;

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

        // Always the caller's own copy: the array may be the near cache's (loaded from it), or become it (a commit or
        // a refresh hands this request's items to the cache), and the cache's copy serves other requests.
        value = value.AsSpan().ToArray();
        return true;
    }

    /// <inheritdoc />
    public void Set(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ValidateKey(key);
        ThrowIfNotWritable();
        if (_stored is null && !_changes.Any && (_closedToNewSessions || _tryEstablishSession?.Invoke() == false))
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
        if (_items.ContainsKey(key))
        {
            OwnItems().Remove(key);
        }

        // A write even when the view lacks the key: the view may be older than what is stored (a cached copy, another
        // request's commit since the load), and the commit applies the removal over the stored version.
        _changes.Remove(key);
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
    /// cache's, or what a commit handed to it). The values stay shared: they are never changed in place, and
    /// <see cref="TryGetValue"/> hands out copies.
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
