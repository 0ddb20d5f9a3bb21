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
    private readonly SessionBackend _backend;

    public SessionStore(SessionBackend backend)
    {
        _backend = backend;
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
        return new EtcdSession(_backend, sessionKey, idleTimeout, tryEstablishSession, isNewSessionKey, strictKeys: false);
    }

    /// <summary>
    /// Creates a session in strict mode: a key that names no readable session is never adopted; the session
    /// gets a fresh key instead. <paramref name="sessionKey"/> <see langword="null"/> starts a new session.
    /// </summary>
    /// <param name="sessionKey">The secret key the client presented, if any.</param>
    /// <param name="minRevision">The revision of the client's last write its token carries (read-your-writes with the near cache).</param>
    internal EtcdSession CreateStrict(string? sessionKey, long minRevision = 0) =>
        new(_backend, sessionKey ?? SessionKeys.NewSecret(), _backend.Options.IdleTimeout, tryEstablishSession: null,
            isNewSessionKey: sessionKey is null, strictKeys: true, minRevision);
}
