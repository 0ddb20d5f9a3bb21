using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>
/// The etcd-backed <see cref="ISessionStore"/>. Registered by <c>AddEtcdSession</c>; works under
/// <c>app.UseEtcdSession()</c> and, with fewer guarantees, under the stock <c>app.UseSession()</c>. Internal: apps
/// reach it as the <see cref="ISessionStore"/> service.
/// </summary>
internal sealed class SessionStore : ISessionStore
{
    private readonly SessionRepository _repository;
    private readonly TimeSpan _idleTimeout;

    public SessionStore(SessionRepository repository, EtcdSessionOptions options)
    {
        _repository = repository;
        _idleTimeout = options.IdleTimeout;
    }

    /// <summary>
    /// Creates the session for <paramref name="sessionKey"/>, the secret key a client presented. This is the
    /// stock <c>app.UseSession()</c> middleware's entry point (<c>app.UseEtcdSession()</c> does not call it): the
    /// key is adopted as given.
    /// </summary>
    /// <param name="sessionKey">The secret session key from the client's cookie, or a new one.</param>
    /// <param name="idleTimeout">The session's idle (sliding) timeout: the stock <c>SessionOptions.IdleTimeout</c>.</param>
    /// <param name="ioTimeout">
    /// Ignored. The stock middleware passes its <c>SessionOptions.IOTimeout</c> (1 minute by default); every etcd
    /// call of this session is bounded by the store's <see cref="EtcdSessionOptions.IOTimeout"/> instead (5 seconds
    /// by default), the one budget that a call's retries on other members and a commit's merges with concurrent
    /// writes share, so that a session behaves the same under both middlewares. Set
    /// <see cref="EtcdSessionOptions.IOTimeout"/> to change it.
    /// </param>
    /// <param name="tryEstablishSession">The stock middleware's callback that sends the cookie; <see langword="false"/> once the response has started.</param>
    /// <param name="isNewSessionKey">Whether <paramref name="sessionKey"/> was just made (no cookie came with the request).</param>
    public ISession Create(string sessionKey, TimeSpan idleTimeout, TimeSpan ioTimeout, Func<bool> tryEstablishSession, bool isNewSessionKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionKey);
        ArgumentNullException.ThrowIfNull(tryEstablishSession);
        return new EtcdSession(_repository, sessionKey, idleTimeout, tryEstablishSession, isNewSessionKey, KeyPolicy.Adopting);
    }

    /// <summary>
    /// Creates a session in strict mode (<see cref="KeyPolicy.Strict"/>): a key that names no readable session is never
    /// adopted; the session gets a fresh key instead. <paramref name="sessionKey"/> <see langword="null"/> starts a new session.
    /// </summary>
    /// <param name="sessionKey">The secret key the client presented, if any.</param>
    /// <param name="minRevision">The revision of the client's last write its token carries (read-your-writes with the near cache).</param>
    /// <param name="tokenPresented">A token came with the request, readable or not (<see langword="null"/>: when <paramref name="sessionKey"/> did).</param>
    /// <param name="keepExpiry">The endpoint does not push the session's expiry forward (<c>WithoutSessionRefresh()</c>).</param>
    /// <param name="unavailable">The presented token could not be checked (the key ring could not be read): the session is unavailable.</param>
    /// <param name="handedOver">The key came from the server, not the client (an imported session): the client gets it as a new token.</param>
    internal EtcdSession CreateStrict(string? sessionKey, long minRevision = 0, bool? tokenPresented = null, bool keepExpiry = false, bool unavailable = false,
        bool handedOver = false) =>
        new(_repository, sessionKey ?? SessionKeys.NewSecret(), _idleTimeout, tryEstablishSession: null, isNewSessionKey: sessionKey is null, KeyPolicy.Strict,
            minRevision, keepExpiry, tokenPresented ?? sessionKey is not null, unavailable, handedOver);
}
