using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session;

/// <summary>Session lifecycle operations that <see cref="ISession"/> itself lacks.</summary>
public static class EtcdSessionExtensions
{
    /// <summary>
    /// Moves the session to a new secret key atomically (call it on login). Data, expiry and creation time
    /// carry over; the old key no longer opens the session. Under <c>app.UseEtcdSession()</c> the new cookie
    /// is sent with this response.
    /// </summary>
    /// <returns>The new secret session key.</returns>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or is unavailable.</exception>
    /// <exception cref="EtcdSessionException">etcd failed; the old key is still in force.</exception>
    public static Task<string> RegenerateIdAsync(this ISession session, CancellationToken cancellationToken = default) =>
        Ours(session).RegenerateIdAsync(cancellationToken);

    /// <summary>
    /// Deletes the session from etcd (exactly this session; idempotent). The request continues with a new,
    /// empty session; under <c>app.UseEtcdSession()</c> the cookie is removed unless that new session is written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is not an etcd session.</exception>
    /// <exception cref="EtcdSessionException">etcd failed; the session may still exist.</exception>
    public static Task DestroyAsync(this ISession session, CancellationToken cancellationToken = default) =>
        Ours(session).DestroyAsync(cancellationToken);

    /// <summary>The session's non-secret id, creation time and expiry, as stored in etcd.</summary>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or has not been loaded.</exception>
    public static EtcdSessionInfo GetInfo(this ISession session)
    {
        var ours = Ours(session);
        return new EtcdSessionInfo(ours.Id, ours.Created, ours.ExpiresAt);
    }

    internal static EtcdSession Ours(ISession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session as EtcdSession ?? throw new InvalidOperationException(
            $"This session is a {session.GetType().FullName}, not an etcd session: register the store with services.AddEtcdSession(...) and app.UseEtcdSession().");
    }
}
