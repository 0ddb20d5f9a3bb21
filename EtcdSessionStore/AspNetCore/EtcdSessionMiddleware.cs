using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Puts the etcd session on <see cref="HttpContext.Session"/>. A request flows one way: cookie, key, load (only when
/// the request presents a cookie), endpoint, the app's <c>OnStarting</c> callbacks, commit, cookie. Changes made
/// before the response starts are committed before its status line and headers go out
/// (<see cref="CommitBeforeStartBodyFeature"/>, <see cref="OnStartingBeforeCommitFeature"/>), so a failed commit, or a
/// failed session operation of the endpoint, turns the response into an error; changes made after it started are
/// committed at the end, and a failure there breaks the response. A cookie is only ever sent for a session that is
/// stored. Keys the client presents are never adopted (strict mode).
/// </summary>
internal sealed partial class EtcdSessionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly SessionStore _store;
    private readonly SessionCookie _cookie;
    private readonly IOptions<EtcdSessionOptions> _options;
    private readonly ILogger _logger;
    private readonly Import.SessionImporter _import;

    public EtcdSessionMiddleware(RequestDelegate next, SessionStore store, SessionCookie cookie, IOptions<EtcdSessionOptions> options, ILogger<EtcdSessionMiddleware> logger,
        Import.SessionImporter import)
    {
        _import = import;
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

        // Import hook (EtcdSessionOptions.Import): a request without this store's cookie may bring the stock one.
        var imported = presented.Present ? default : await _import.ImportAsync(context, context.RequestAborted).ConfigureAwait(false);
        var secret = presented.Secret ?? imported.Secret;

        var serverResponse = context.Features.GetRequiredFeature<IHttpResponseFeature>();
        var onStarting = new OnStartingBeforeCommitFeature(serverResponse);
        var undecided = presented.KeyRingFailure ?? imported.Failure;
        var session = _store.CreateStrict(secret, presented.Revision, presented.Present, handedOver: presented.Secret is null && imported.Secret is not null,
            keepExpiry: endpoint?.Metadata.GetMetadata<WithoutSessionRefreshAttribute>() is not null, unavailable: undecided is not null);
        var request = new RequestState(context, _cookie, presented, session, onStarting, _logger);
        if (undecided is not null)
        {
            if (!await ContinueAfterLoadFailureAsync(context, undecided).ConfigureAwait(false))
            {
                return;
            }
        }
        else if (secret is not null)
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

        if (_options.Value.EndSignInWithSession && !await EndSignInWithoutSessionAsync(context, request).ConfigureAwait(false))
        {
            return;
        }

        var serverBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var body = new CommitBeforeStartBodyFeature(serverBody, onStarting.RunCallbacksAsync, request.BeforeStartAsync, () => request.Session.HasChanges);
        // Registered before the app's callbacks, on the server: it runs when the server starts the response, after them.
        serverResponse.OnStarting(static state => ((RequestState)state).OnServerStartingAsync(), request);
        context.Features.Set<IHttpResponseBodyFeature>(body);
        context.Features.Set<IHttpResponseFeature>(onStarting);
        var feature = new EtcdSessionFeature(request.Session);
        context.Features.Set<ISessionFeature>(feature);
        context.Features.Set(feature); // for the sign-in hook and the ticket store: a typed look-up, not a downcast
        EtcdSessionException? endpointFailure = null;
        try
        {
            await _next(context).ConfigureAwait(false);
            if (!context.Response.HasStarted)
            {
                // While the session is still on the request: the app's OnStarting callbacks run first and may use it.
                await request.BeforeStartAsync().ConfigureAwait(false);
            }
        }
        catch (Exception) when (request.CommitFailure is not null && !context.Response.HasStarted)
        {
            // The endpoint's write failed because the commit had failed: answered below.
        }
        catch (EtcdSessionException ex) when (!context.Response.HasStarted)
        {
            // A session operation of the endpoint failed (an explicit commit, a rotation, a destroy): answered as the
            // middleware's own commit failure is, and nothing else the endpoint changed is stored.
            request.DiscardChanges();
            endpointFailure = ex;
        }
        catch
        {
            request.DiscardChanges(); // the endpoint failed: its changes are not stored, and no cookie goes out for them
            throw;
        }
        finally
        {
            context.Features.Set(serverBody);
            context.Features.Set(serverResponse);
            context.Features.Set<ISessionFeature>(null);
            context.Features.Set<EtcdSessionFeature>(null);
        }

        if (!context.Response.HasStarted && (request.CommitFailure ?? endpointFailure) is { } failure)
        {
            await WriteCommitFailureAsync(context, request, failure).ConfigureAwait(false);
            return;
        }

        if (request.Committed)
        {
            await body.SendHeldAsync(context.RequestAborted).ConfigureAwait(false);
        }

        await request.AfterStartAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="EtcdSessionOptions.EndSignInWithSession"/>: a signed-in user whose session is no longer bound to them
    /// (revoked, signed out everywhere, expired) is signed out before the endpoint runs. Not while the session cannot be
    /// read, nor for a key rotated away a moment ago (a request sent before the sign-in answered). False when the
    /// sign-out failed in etcd and the request was answered with an error: the user is still signed in, and can retry.
    /// </summary>
    private async Task<bool> EndSignInWithoutSessionAsync(HttpContext context, RequestState request)
    {
        var session = request.Session;
        if (!session.IsAvailable || session.Moved
            || context.User.Identity is not { IsAuthenticated: true, Name: var user } || !Format.UserSessionIndex.IsIndexable(user)
            || string.Equals(session.UserName, user, StringComparison.Ordinal))
        {
            return true;
        }

        Log.SignInEndedWithSession(_logger);
        try
        {
            await context.SignOutAsync().ConfigureAwait(false);
        }
        catch (EtcdSessionException ex) when (!context.Response.HasStarted)
        {
            request.DiscardChanges();
            await WriteCommitFailureAsync(context, request, ex).ConfigureAwait(false);
            return false;
        }

        context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
        return true;
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
