using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// The etcd-backed <see cref="ISessionStore"/>. Registered by <c>AddEtcdSession</c>; works under
/// <c>app.UseEtcdSession()</c> and, with fewer guarantees, under the stock <c>app.UseSession()</c>.
/// </summary>
public sealed class EtcdSessionStore : ISessionStore
{
    private readonly SessionBackend _backend;

    internal EtcdSessionStore(SessionBackend backend)
    {
        _backend = backend;
    }

    /// <summary>
    /// Creates the session for <paramref name="sessionKey"/>, the secret key a client presented. This is the
    /// stock middleware's entry point: the key is adopted as given. The store's own
    /// <see cref="EtcdSessionOptions.IOTimeout"/> bounds every etcd call, not <paramref name="ioTimeout"/>.
    /// </summary>
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
    internal EtcdSession CreateStrict(string? sessionKey, Func<bool> tryEstablishSession) =>
        new(_backend, sessionKey ?? SessionKeys.NewSecret(), _backend.Options.IdleTimeout, tryEstablishSession,
            isNewSessionKey: sessionKey is null, strictKeys: true);
}
