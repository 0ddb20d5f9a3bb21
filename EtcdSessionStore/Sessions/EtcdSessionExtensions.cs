using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session;

/// <summary>Session lifecycle operations that <see cref="ISession"/> itself lacks.</summary>
public static class EtcdSessionExtensions
{
    /// <summary>
    /// Moves the session to a new secret key atomically (call it on login). Data, expiry and creation time
    /// carry over; the old key no longer opens the session. Under <c>app.UseEtcdSession()</c> the new cookie
    /// is sent with this response. <see cref="ISession.Id"/>, the session's non-secret id, stays the same: what
    /// changes is the secret key, which only the client's cookie (or token header) carries.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or is unavailable.</exception>
    /// <exception cref="EtcdSessionException">etcd failed; the old key is still in force.</exception>
    public static Task RegenerateIdAsync(this ISession session, CancellationToken cancellationToken = default) =>
        Ours(session).RegenerateIdAsync(cancellationToken);

    /// <summary>
    /// Binds the session to <paramref name="userName"/> and, in the same etcd transaction, moves it to a new
    /// secret key, as a sign-in does (call it where users sign in without ASP.NET Core authentication). The
    /// session then appears in <see cref="EtcdSessionDirectory"/> for that user until it expires or is destroyed. <paramref name="metadata"/> (e.g. a user agent, at
    /// most 1 KiB as stored, JSON-escaped) is listed with it: never put secrets there. As with
    /// <see cref="RegenerateIdAsync"/>, <see cref="ISession.Id"/> stays the same.
    /// </summary>
    /// <exception cref="ArgumentException">The user name is empty or longer than 256 characters, or the metadata is too large.</exception>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or is unavailable.</exception>
    /// <exception cref="EtcdSessionException">etcd failed; the old key is still in force.</exception>
    public static Task BindUserAsync(this ISession session, string userName, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Ours(session).BindUserAsync(userName, metadata, cancellationToken);

    /// <summary>
    /// Deletes the session from etcd (exactly this session; idempotent). The request continues with a new,
    /// empty session; under <c>app.UseEtcdSession()</c> the cookie is removed unless that new session is written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is not an etcd session.</exception>
    /// <exception cref="EtcdSessionException">etcd failed; the session may still exist.</exception>
    public static Task DestroyAsync(this ISession session, CancellationToken cancellationToken = default) =>
        Ours(session).DestroyAsync(cancellationToken);

    /// <summary>
    /// Gives this one session its own idle (sliding) timeout, from this request's commit on: longer than the app's
    /// <see cref="EtcdSessionOptions.IdleTimeout"/> for a "remember me" sign-in, or shorter. It is stored with the
    /// session, survives rotation (sign-in), and is still capped by <see cref="EtcdSessionOptions.AbsoluteTimeout"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="idleTimeout"/> is outside what <see cref="EtcdSessionOptions.IdleTimeout"/> allows (2 seconds to 365 days).</exception>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or is unavailable.</exception>
    public static void SetIdleTimeout(this ISession session, TimeSpan idleTimeout) => Ours(session).SetIdleTimeout(idleTimeout);

    /// <summary>The session's non-secret id, creation time and expiry, as stored in etcd.</summary>
    /// <exception cref="InvalidOperationException">The session is not an etcd session, or has not been loaded.</exception>
    public static EtcdSessionInfo GetInfo(this ISession session)
    {
        var ours = Ours(session);
        return new EtcdSessionInfo(ours.Id, ours.Created, ours.ExpiresAt, ours.UserName, ours.Revision);
    }

    internal static EtcdSession Ours(ISession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session as EtcdSession ?? throw new InvalidOperationException(
            $"This session is a {session.GetType().FullName}, not an etcd session: register the store with services.AddEtcdSession(...) and app.UseEtcdSession().");
    }
}
