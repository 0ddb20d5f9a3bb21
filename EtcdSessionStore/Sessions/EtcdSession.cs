using System.Diagnostics.CodeAnalysis;
using System.Text;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// One request's view of a session stored in etcd: what was loaded, and this request's change log. Load once, then
/// every synchronous member works in memory; <see cref="CommitAsync"/> hands <see cref="SessionRepository"/> only what
/// changed (which merges it with concurrent writers' changes). It decides, and answers what the client's token becomes
/// (<see cref="TokenFor"/>); the repository does the etcd I/O, and it alone knows the near cache. Not thread-safe, like
/// every <see cref="ISession"/>: one request uses it.
/// </summary>
internal sealed partial class EtcdSession : ISession
{
    private readonly SessionRepository _repository;
    private readonly KeyPolicy _keys;
    private Func<bool>? _canEstablish;
    private readonly TimeSpan _idleTimeout;
    private bool _choseIdleTimeout; // during this request, committed or not
    private readonly SessionChanges _changes = new();
    private IReadOnlyDictionary<string, byte[]> _items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
    private bool _itemsShared;
    private readonly long _minRevision;
    private readonly bool _keepExpiry;
    private readonly string? _presentedSecret;
    private readonly bool _tokenPresented;
    private bool _wroteThisRequest;
    private LoadState _state;
    private StoredSession? _stored;
    private string _id;
    private string _secret;
    private string _storageKey;

    /// <param name="repository">The storage path: every etcd operation of the session.</param>
    /// <param name="secret">The secret session key the client presented, or a new one.</param>
    /// <param name="idleTimeout">The sliding expiry to write the session with.</param>
    /// <param name="tryEstablishSession">
    /// Whether a new session can still be announced to the client: the stock middleware's callback, or under
    /// <c>UseEtcdSession</c> <see langword="null"/> until <see cref="CloseToNewSessions"/>.
    /// </param>
    /// <param name="isNewSessionKey">The key was just generated (no token came with it): nothing to load.</param>
    /// <param name="keys">How the presented key is treated.</param>
    /// <param name="minRevision">The revision of the client's own last write, as its token says (0 if unknown): a read answered from memory is at least as new.</param>
    /// <param name="keepExpiry">The request must not push the session's expiry forward (<c>WithoutSessionRefresh()</c>); its writes keep the current expiry.</param>
    /// <param name="tokenPresented">A token came with the request, readable or not: one that opens nothing is deleted.</param>
    /// <param name="unavailable">The presented key could not be checked (the key ring could not be read): the session reads as unavailable and cannot change.</param>
    /// <param name="handedOver">The key was not presented by the client but handed over by the server (an imported session): it is issued as a new token.</param>
    public EtcdSession(SessionRepository repository, string secret, TimeSpan idleTimeout, Func<bool>? tryEstablishSession, bool isNewSessionKey, KeyPolicy keys,
        long minRevision = 0, bool keepExpiry = false, bool tokenPresented = false, bool unavailable = false, bool handedOver = false)
    {
        _minRevision = minRevision;
        _keepExpiry = keepExpiry;
        _repository = repository;
        _secret = secret;
        _presentedSecret = isNewSessionKey || handedOver ? null : secret;
        _tokenPresented = tokenPresented;
        _storageKey = repository.StorageKey(secret);
        _idleTimeout = idleTimeout;
        _canEstablish = tryEstablishSession;
        _keys = keys;
        _state = unavailable ? LoadState.Unavailable : isNewSessionKey ? LoadState.Loaded : LoadState.NotLoaded;
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
    internal void CloseToNewSessions() => _canEstablish = static () => false;

    /// <summary>The secret session key in force now (changed by rotation, destroy or strict re-keying).</summary>
    internal string SessionKey => _secret;

    /// <summary>The session exists in etcd (as this request last saw it).</summary>
    internal bool IsStored => _stored is not null;

    /// <summary>The request changed the session (or bound it to a user, or chose its idle timeout) and has not committed yet.</summary>
    internal bool HasChanges => _changes.Any;

    /// <summary>The <c>mod_revision</c> of the stored session as this request last saw or wrote it, if it is stored.</summary>
    internal long? Revision => _stored?.ModRevision;

    /// <summary>When the stored session was created, if it is stored.</summary>
    internal DateTimeOffset? Created => _stored?.Header.Created;

    /// <summary>When the stored session expires unless used again, if it is stored.</summary>
    internal DateTimeOffset? ExpiresAt => _stored?.Deadline;

    /// <inheritdoc />
    public bool IsAvailable => _state == LoadState.Loaded;

    /// <summary>The client's token carries the revision of its last write, for reads answered from memory at that revision.</summary>
    private bool TokenCarriesRevision => _keys.TokenCarriesRevision && _repository.ReadsAtRevision;

    /// <summary>
    /// What the client's token becomes, after the commit: a token only for a stored session, and a new one when the key
    /// changed, the session chose an idle timeout of its own (a persistent cookie that lives as long), or, when tokens
    /// carry revisions, the request wrote (the next request, on whichever instance, reads at least that version); a token
    /// that opens nothing is deleted. Left alone when the session's state is unknown, or its key was rotated away by
    /// another request (the browser may already hold that request's key).
    /// </summary>
    internal SessionToken TokenFor()
    {
        if (!IsAvailable || Moved)
        {
            return SessionToken.Keep;
        }

        if (_stored is null)
        {
            return _tokenPresented ? SessionToken.Delete : SessionToken.Keep; // destroyed, expired, unknown or unreadable
        }

        return !string.Equals(_secret, _presentedSecret, StringComparison.Ordinal) || _choseIdleTimeout || (_wroteThisRequest && TokenCarriesRevision)
            ? SessionToken.Issue(_secret, TokenCarriesRevision ? _stored.ModRevision : 0, ChosenIdleTimeout)
            : SessionToken.Keep;
    }

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
        if (_stored is null && !_changes.ItemsChanged && _canEstablish?.Invoke() == false)
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
