using Etcd.AspNetCore.Session.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Authentication;

/// <summary>
/// Deletes the signed-out cookie's ticket from etcd before the cookie handler signs out. The handler removes the
/// ticket only when it read it during the request, and a request whose ticket read failed (etcd down) is
/// anonymous to it: it would delete the cookie and leave the ticket live in etcd, where a copy of the cookie
/// would still find it. Read here from the cookie itself, a failure fails the sign-out instead.
/// </summary>
internal sealed class TicketSignOut : IBeforeSignOut
{
    // The claim in which the cookie handler keeps the ticket store's key (CookieAuthenticationHandler.SessionIdClaim).
    private const string ReferenceClaim = "Microsoft.AspNetCore.Authentication.Cookies-SessionId";

    /// <exception cref="EtcdSessionException">etcd failed: the ticket may still exist.</exception>
    public async Task RunAsync(HttpContext context, string? scheme)
    {
        var services = context.RequestServices;
        scheme ??= services.GetService<IAuthenticationSchemeProvider>() is { } schemes
            ? (await schemes.GetDefaultSignOutSchemeAsync().ConfigureAwait(false))?.Name
            : null;
        if (scheme is null || services.GetService<IOptionsMonitor<CookieAuthenticationOptions>>()?.Get(scheme) is not { SessionStore: EtcdTicketStore store } options
            || options.Cookie.Name is not { Length: > 0 } cookieName
            || options.CookieManager.GetRequestCookie(context, cookieName) is not { Length: > 0 } cookie)
        {
            return;
        }

        if (options.TicketDataFormat.Unprotect(cookie)?.Principal.FindFirst(ReferenceClaim)?.Value is { Length: > 0 } reference)
        {
            await store.RemoveAsync(reference, context, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
