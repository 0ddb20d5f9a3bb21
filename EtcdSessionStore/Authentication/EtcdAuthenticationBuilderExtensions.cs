using Etcd.AspNetCore.Session.AspNetCore;
using Etcd.AspNetCore.Session.Authentication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session;

/// <summary>Keeps cookie authentication's sign-in tickets in etcd.</summary>
public static class EtcdAuthenticationBuilderExtensions
{
    /// <summary>
    /// Makes cookie authentication keep its tickets (the claims and properties of each sign-in) in etcd, as
    /// <see cref="CookieAuthenticationOptions.SessionStore"/>: the cookie carries only a random reference. Tickets
    /// are protected with Data Protection, live on etcd leases that match their expiry, are indexed by user,
    /// and end with <see cref="EtcdSessionDirectory.RevokeAllAsync"/> (and with
    /// <see cref="EtcdSessionDirectory.RevokeAsync"/> for the session the user signed in with). Needs
    /// <c>AddEtcdSession</c>, whose etcd client, key prefix and <c>IOTimeout</c> it uses. See docs/security.md.
    /// </summary>
    /// <param name="builder">The app's authentication builder.</param>
    /// <param name="authenticationSchemes">The cookie schemes whose tickets go to etcd; none means every cookie scheme.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static AuthenticationBuilder StoreTicketsInEtcd(this AuthenticationBuilder builder, params string[] authenticationSchemes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationSchemes);
        var schemes = authenticationSchemes.ToArray();
        builder.Services.AddSingleton<IPostConfigureOptions<CookieAuthenticationOptions>>(sp => new TicketStoreSetup(sp, schemes));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IBeforeSignOut, TicketSignOut>());
        return builder;
    }
}
