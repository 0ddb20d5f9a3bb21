namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>How a session treats the key its client presented: what the middleware that made the session can do with the client's token.</summary>
/// <param name="ReplacesUnknownKeys">
/// A key that names no readable session (unknown, expired, unreadable) is replaced by a new one, never adopted. The
/// stock middleware sends its own key back whatever the store does, so under it the key is adopted, and a stored value
/// that cannot be read leaves the session unavailable rather than be overwritten.
/// </param>
/// <param name="DetectsRotatedKeys">
/// A key that names nothing is checked for the marker of a rotation a moment ago, whose request then leaves the
/// client's token alone; the stock middleware cannot leave it alone.
/// </param>
/// <param name="TokenCarriesRevision">
/// The client's token carries the revision of its last write, so that a read may be answered from memory at that
/// revision (read-your-writes); the stock middleware's cookie carries only the key.
/// </param>
internal sealed record KeyPolicy(bool ReplacesUnknownKeys, bool DetectsRotatedKeys, bool TokenCarriesRevision)
{
    /// <summary>The stock <c>app.UseSession()</c>: the key is adopted as given.</summary>
    public static KeyPolicy Adopting { get; } = new(ReplacesUnknownKeys: false, DetectsRotatedKeys: false, TokenCarriesRevision: false);

    /// <summary><c>app.UseEtcdSession()</c>: keys are never adopted, and the token is the session's to decide (<see cref="EtcdSession.TokenFor"/>).</summary>
    public static KeyPolicy Strict { get; } = new(ReplacesUnknownKeys: true, DetectsRotatedKeys: true, TokenCarriesRevision: true);
}
