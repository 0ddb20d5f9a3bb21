using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Work that must succeed before a sign-out goes ahead, registered by the feature that needs it (<c>StoreTicketsInEtcd</c>
/// removes the cookie's ticket from etcd) and run by <see cref="SessionAwareAuthenticationService"/>, so that this folder
/// does not depend on those features.
/// </summary>
internal interface IBeforeSignOut
{
    /// <summary>Runs before the session is destroyed and the scheme signs out; an exception fails the sign-out.</summary>
    Task RunAsync(HttpContext context, string? scheme);
}
