using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
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

        var request = new RequestState(context, _cookie, presented, _store.CreateStrict(presented.Secret, () => !context.Response.HasStarted), _logger);
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
        context.Features.Set<ISessionFeature>(new EtcdSessionFeature(request.Session));
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

    private async Task WriteCommitFailureAsync(HttpContext context, RequestState request, EtcdSessionException failure)
    {
        Log.CommitFailed(_logger, request.Session.IsAvailable ? request.Session.Id : "(unavailable)", failure.Kind, failure);
        request.AnsweringWithError = true;
        context.Response.Clear();
        // A rotation earlier in the request is stored: the client needs the new key even though the rest failed.
        await request.WriteCookieAsync().ConfigureAwait(false);
        var (status, title, detail) = failure.Kind switch
        {
            EtcdSessionErrorKind.Conflict => (StatusCodes.Status409Conflict, "The session changed while this request ran.",
                "The changes this request made to the session were not saved, because the session was changed, rotated or ended by another request. Reload and try again."),
            EtcdSessionErrorKind.TooLarge => (StatusCodes.Status413PayloadTooLarge, "The session would be too large.",
                "The changes this request made to the session were not saved: the session would exceed the store's size limit (MaxSessionBytes)."),
            _ => (StatusCodes.Status503ServiceUnavailable, "The session could not be saved.",
                "The changes this request made to the session were not saved. Try again shortly."),
        };
        await WriteProblemAsync(context, status, title, detail).ConfigureAwait(false);
    }

    /// <summary>A problem details answer, through the app's <see cref="IProblemDetailsService"/> when it registered one.</summary>
    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-cache,no-store";
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = status switch
            {
                StatusCodes.Status409Conflict => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
                StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                _ => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            },
        };
        if (context.RequestServices?.GetService<IProblemDetailsService>() is { } service
            && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One request's session and what it means for the cookie.</summary>
    private sealed class RequestState
    {
        private readonly HttpContext _context;
        private readonly SessionCookie _cookie;
        private readonly PresentedToken _presented;
        private readonly ILogger _logger;
        private Task<EtcdSessionException?>? _beforeStart;
        private bool _discarded;

        public RequestState(HttpContext context, SessionCookie cookie, PresentedToken presented, EtcdSession session, ILogger logger)
        {
            _context = context;
            _cookie = cookie;
            _presented = presented;
            Session = session;
            _logger = logger;
        }

        public EtcdSession Session { get; }

        /// <summary>Why the commit before the response failed, once it did.</summary>
        public EtcdSessionException? CommitFailure => _beforeStart is { IsCompletedSuccessfully: true } done ? done.Result : null;

        /// <summary>The middleware is writing the error answer: the server's start of it must not commit again.</summary>
        public bool AnsweringWithError { get; set; }

        public void DiscardChanges() => _discarded = true;

        /// <summary>Commits the changes made so far, then writes the cookie. Runs once; returns why the commit failed.</summary>
        public Task<EtcdSessionException?> BeforeStartAsync() => _beforeStart ??= CommitThenWriteCookieAsync();

        /// <summary>The server starts the response by a path that did not go through the body (an upgrade, say).</summary>
        public async Task OnServerStartingAsync()
        {
            if (AnsweringWithError)
            {
                return;
            }

            if (await BeforeStartAsync().ConfigureAwait(false) is not null)
            {
                _context.Abort(); // too late to answer with an error: never let the response look like a success
            }
        }

        /// <summary>Changes made after the response started are committed now; if that fails the response is broken off.</summary>
        public async Task AfterStartAsync()
        {
            var changed = Session.HasChanges && !_discarded;
            if (!changed && _discarded)
            {
                return;
            }

            try
            {
                // Not bound to RequestAborted: a change the endpoint made should persist even if the client left.
                // Every etcd call is still bounded by IOTimeout.
                await Session.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex) when (changed)
            {
                Log.CommitFailedAfterResponseStarted(_logger, Session.IsAvailable ? Session.Id : "(unavailable)", ex.Kind, ex);
                _context.Abort();
            }
        }

        private async Task<EtcdSessionException?> CommitThenWriteCookieAsync()
        {
            if (Session.HasChanges && !_discarded)
            {
                try
                {
                    await Session.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (EtcdSessionException ex)
                {
                    return ex;
                }
            }

            try
            {
                await WriteCookieAsync().ConfigureAwait(false);
            }
            catch (EtcdSessionException ex)
            {
                return ex; // stored, but the key ring could not make a cookie for it
            }

            return null;
        }

        /// <summary>Issues the cookie for a stored session whose key the client does not have, or deletes a dead one.</summary>
        public async Task WriteCookieAsync()
        {
            if (!Session.IsAvailable || Session.Moved)
            {
                return; // unknown state, or the browser may already hold the rotated key: leave its cookie alone
            }

            if (Session.IsStored)
            {
                // A session with an idle timeout of its own ("remember me") gets a persistent cookie that lives as long.
                if (!string.Equals(Session.SessionKey, _presented.Secret, StringComparison.Ordinal) || Session.ChoseIdleTimeout)
                {
                    await _cookie.AppendAsync(_context, Session.SessionKey, Session.ChosenIdleTimeout, CancellationToken.None).ConfigureAwait(false);
                }
            }
            else if (_presented.Present)
            {
                // Destroyed, expired, unknown or unreadable: the old cookie opens nothing any more.
                _cookie.Delete(_context);
            }
        }
    }
}
