using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Puts the etcd session on <see cref="HttpContext.Session"/>. A request flows one way: cookie, key, load (only when
/// the request presents a cookie), endpoint, commit, cookie. Changes made before the response starts are committed
/// before its status line and headers go out (<see cref="CommitBeforeStartBodyFeature"/>), so a failed commit turns
/// the response into an error; changes made after it started are committed at the end, and a failure there breaks
/// the response. A cookie is only ever sent for a session that is stored. Keys the client presents are never
/// adopted (strict mode).
/// </summary>
internal sealed partial class EtcdSessionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly EtcdSessionStore _store;
    private readonly SessionCookie _cookie;
    private readonly IOptions<EtcdSessionOptions> _options;
    private readonly ILogger _logger;

    public EtcdSessionMiddleware(RequestDelegate next, EtcdSessionStore store, SessionCookie cookie, IOptions<EtcdSessionOptions> options, ILogger<EtcdSessionMiddleware> logger)
    {
        _next = next;
        _store = store;
        _cookie = cookie;
        _options = options;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<WithoutSessionAttribute>() is not null)
        {
            context.Features.Set<ISessionFeature>(NoSessionFeature.Instance);
            try
            {
                await _next(context).ConfigureAwait(false);
            }
            finally
            {
                context.Features.Set<ISessionFeature>(null);
            }

            return;
        }

        var presented = await _cookie.ReadAsync(context, context.RequestAborted).ConfigureAwait(false);
        if (presented.Present && presented.Secret is null && presented.KeyRingFailure is null)
        {
            Log.CookieRejected(_logger);
        }

        var request = new RequestState(context, _cookie, presented, _store.CreateStrict(presented.Secret, () => !context.Response.HasStarted, presented.Revision), _logger);
        if (presented.KeyRingFailure is { } keyRingFailure)
        {
            request.Session.MarkUnavailable();
            if (!await ContinueAfterLoadFailureAsync(context, keyRingFailure).ConfigureAwait(false))
            {
                return;
            }
        }
        else if (presented.Secret is not null)
        {
            EtcdSessionException? loadFailure = null;
            try
            {
                await request.Session.LoadAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex)
            {
                loadFailure = ex;
            }

            if (loadFailure is not null && !await ContinueAfterLoadFailureAsync(context, loadFailure).ConfigureAwait(false))
            {
                return;
            }
        }

        request.Session.KeepExpiry = endpoint?.Metadata.GetMetadata<WithoutSessionRefreshAttribute>() is not null;
        if (_options.Value.EndSignInWithSession)
        {
            await EndSignInWithoutSessionAsync(context, request.Session).ConfigureAwait(false);
        }

        var serverBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        context.Features.Set<IHttpResponseBodyFeature>(new CommitBeforeStartBodyFeature(serverBody, request.BeforeStartAsync, () => request.Session.HasChanges));
        var feature = new EtcdSessionFeature(request.Session);
        context.Features.Set<ISessionFeature>(feature);
        context.Features.Set(feature); // for the sign-in hook and the ticket store: a typed look-up, not a downcast
        context.Response.OnStarting(static state => ((RequestState)state).OnServerStartingAsync(), request);
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (Exception) when (request.CommitFailure is not null && !context.Response.HasStarted)
        {
            // The endpoint's write failed because the commit had failed: answered below.
        }
        catch
        {
            request.DiscardChanges(); // the endpoint failed: its changes are not stored, and no cookie goes out for them
            throw;
        }
        finally
        {
            context.Features.Set(serverBody);
            context.Features.Set<ISessionFeature>(null);
            context.Features.Set<EtcdSessionFeature>(null);
        }

        if (!context.Response.HasStarted && (request.CommitFailure ?? await request.BeforeStartAsync().ConfigureAwait(false)) is { } failure)
        {
            await WriteCommitFailureAsync(context, request, failure).ConfigureAwait(false);
            return;
        }

        await request.AfterStartAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="EtcdSessionOptions.EndSignInWithSession"/>: a signed-in user whose session is no longer bound to them
    /// (revoked, signed out everywhere, expired) is signed out before the endpoint runs. Not while the session cannot be
    /// read, nor for a key rotated away a moment ago (a request sent before the sign-in answered).
    /// </summary>
    private async Task EndSignInWithoutSessionAsync(HttpContext context, EtcdSession session)
    {
        if (!session.IsAvailable || session.Moved
            || context.User.Identity is not { IsAuthenticated: true, Name: { Length: > 0 and <= Users.UserSessionIndex.MaxUserNameLength } user }
            || string.Equals(session.UserName, user, StringComparison.Ordinal))
        {
            return;
        }

        Log.SignInEndedWithSession(_logger);
        await context.SignOutAsync().ConfigureAwait(false);
        context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
    }

    /// <summary>Applies <see cref="EtcdSessionOptions.UnavailableBehavior"/>; false when the request was answered with 503.</summary>
    private async Task<bool> ContinueAfterLoadFailureAsync(HttpContext context, EtcdSessionException failure)
    {
        if (_options.Value.UnavailableBehavior == EtcdSessionUnavailableBehavior.FailRequest)
        {
            Log.LoadFailedRequestRefused(_logger, failure.Kind, failure);
            await WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "The session store is unavailable.",
                "The session could not be loaded. Try again shortly.").ConfigureAwait(false);
            return false;
        }

        Log.LoadFailedContinuing(_logger, failure.Kind, failure);
        return true;
    }
}
