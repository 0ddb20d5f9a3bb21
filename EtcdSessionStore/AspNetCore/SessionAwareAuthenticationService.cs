using System.Security.Claims;
using Etcd.AspNetCore.Session.Format;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Wraps the app's <see cref="IAuthenticationService"/>: signing in moves the etcd session to a new key (no session
/// fixation across login) and enforces <see cref="EtcdSessionOptions.MaxSessionsPerUser"/>, signing out destroys it. These act only
/// on requests that run under <c>app.UseEtcdSession()</c>. Signing out first runs, on any request, the
/// <see cref="IBeforeSignOut"/> steps that features registered (<c>StoreTicketsInEtcd</c> deletes the cookie's sign-in
/// ticket from etcd). While the inner sign-in runs, <see cref="IsSigningIn"/> tells the ticket store that a renewal
/// is a new sign-in over the cookie's earlier one.
/// </summary>
internal sealed class SessionAwareAuthenticationService : IAuthenticationService
{
    // The HttpContext.Items key that marks a sign-in in progress; an object no one else holds.
    private static readonly object SigningInKey = new();

    private readonly IAuthenticationService _inner;
    private readonly IOptions<EtcdSessionOptions> _options;
    private readonly EtcdSessionDirectory _directory;
    private readonly IBeforeSignOut[] _beforeSignOut;

    public SessionAwareAuthenticationService(IAuthenticationService inner, IOptions<EtcdSessionOptions> options, EtcdSessionDirectory directory,
        IEnumerable<IBeforeSignOut> beforeSignOut)
    {
        _inner = inner;
        _options = options;
        _directory = directory;
        _beforeSignOut = [.. beforeSignOut];
    }

    /// <summary>Replaces the registered <see cref="IAuthenticationService"/> (or the default one) by this wrapper around it.</summary>
    public static void Decorate(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(Marker)))
        {
            return;
        }

        services.AddSingleton<Marker>();
        var existing = services.LastOrDefault(d => d.ServiceType == typeof(IAuthenticationService) && !d.IsKeyedService);
        Func<IServiceProvider, IAuthenticationService> inner = existing switch
        {
            null => DefaultService, // AddAuthentication() comes later and finds ours in place
            { ImplementationInstance: IAuthenticationService instance } => _ => instance,
            { ImplementationFactory: { } factory } => sp => (IAuthenticationService)factory(sp),
            { ImplementationType: { } type } => sp => (IAuthenticationService)ActivatorUtilities.CreateInstance(sp, type),
            _ => DefaultService,
        };
        var lifetime = existing?.Lifetime ?? ServiceLifetime.Scoped;
        services.RemoveAll(typeof(IAuthenticationService));
        services.Add(ServiceDescriptor.Describe(typeof(IAuthenticationService),
            sp => new SessionAwareAuthenticationService(inner(sp), sp.GetRequiredService<IOptions<EtcdSessionOptions>>(), sp.GetRequiredService<EtcdSessionDirectory>(),
                sp.GetServices<IBeforeSignOut>()), lifetime));
    }

    private static AuthenticationService DefaultService(IServiceProvider services) =>
        services.GetService<IAuthenticationSchemeProvider>() is null
            ? throw new InvalidOperationException("No authentication is registered: call services.AddAuthentication(...) before signing users in or out.")
            : ActivatorUtilities.CreateInstance<AuthenticationService>(services);

    public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme) => _inner.AuthenticateAsync(context, scheme);

    public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => _inner.ChallengeAsync(context, scheme, properties);

    public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => _inner.ForbidAsync(context, scheme, properties);

    public async Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties)
    {
        if (_options.Value.RegenerateIdOnSignIn && context.Features.Get<ISessionFeature>() is NoSessionFeature)
        {
            throw new InvalidOperationException(
                "A sign-in on an endpoint marked WithoutSession() cannot move the session to a new key (RegenerateIdOnSignIn): sign users in on an endpoint that uses the session.");
        }

        // Rotate first: if etcd fails, the user is not signed in on a session key that may have been planted.
        if (_options.Value.RegenerateIdOnSignIn && SessionOf(context) is { } session)
        {
            if (!session.IsAvailable)
            {
                throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable,
                    "The session is unavailable (etcd could not be reached), so its key cannot be rotated; the sign-in was refused. Try again, or set RegenerateIdOnSignIn to false.");
            }

            // The same transaction binds the session to the user, so it is listed in EtcdSessionDirectory.
            if (principal.Identity?.Name is var user && UserSessionIndex.IsIndexable(user))
            {
                await session.BindUserAsync(user, MetadataOf(context), context.RequestAborted).ConfigureAwait(false);

                // After the bind, so the new session is never among the ones ended; before the sign-in, so a
                // failure to enforce the limit refuses the sign-in instead of letting it through over the limit.
                if (_options.Value.MaxSessionsPerUser is { } max)
                {
                    await _directory.RevokeOldestAsync(user, session.Id, max, context.RequestAborted).ConfigureAwait(false);
                }
            }
            else
            {
                await session.RegenerateIdAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }

        context.Items[SigningInKey] = principal;
        try
        {
            await _inner.SignInAsync(context, scheme, principal, properties).ConfigureAwait(false);
        }
        finally
        {
            context.Items.Remove(SigningInKey);
        }
    }

    /// <summary>
    /// Whether <paramref name="context"/> is inside a sign-in: the cookie handler then hands a ticket that already
    /// exists for the request's cookie to <c>ITicketStore.RenewAsync</c>, although it is a new sign-in, maybe of
    /// another user.
    /// </summary>
    public static bool IsSigningIn(HttpContext? context) => context?.Items.ContainsKey(SigningInKey) == true;

    public async Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties)
    {
        // A ticket in etcd goes first: if that fails, the user is still signed in everywhere and can retry.
        foreach (var step in _beforeSignOut)
        {
            await step.RunAsync(context, scheme).ConfigureAwait(false);
        }

        // An unavailable session may still exist in etcd: try to delete it, and fail the sign-out if that fails.
        if (_options.Value.DestroyOnSignOut && SessionOf(context) is { } session && (session.IsStored || !session.IsAvailable))
        {
            await session.DestroyAsync(context.RequestAborted).ConfigureAwait(false);
        }

        await _inner.SignOutAsync(context, scheme, properties).ConfigureAwait(false);
    }

    // What a user sees in a list of their sessions to tell them apart. 128 characters stay under the metadata
    // limit even if every one is JSON-escaped (6 bytes each).
    private static Dictionary<string, string>? MetadataOf(HttpContext context) =>
        context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent
            ? new Dictionary<string, string>(StringComparer.Ordinal) { ["userAgent"] = agent.Length > 128 ? agent[..128] : agent }
            : null;

    private static Sessions.EtcdSession? SessionOf(HttpContext context) =>
        context.Features.Get<EtcdSessionFeature>()?.EtcdSession;

    /// <summary>Registered once, so that a second <c>AddEtcdSession</c> does not wrap the wrapper.</summary>
    internal sealed class Marker;
}
