using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Puts the etcd session on <see cref="HttpContext.Session"/>: loads it asynchronously before the endpoint runs
/// (only when the request presents a cookie), commits it before the response starts, and issues, re-issues or
/// deletes the cookie as the session's key changes. Keys the client presents are never adopted (strict mode).
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
        var (cookiePresent, presented) = _cookie.Read(context);
        if (cookiePresent && presented is null)
        {
            Log.CookieRejected(_logger);
        }

        var request = new RequestState(context, _cookie, cookiePresent, presented);
        request.Session = _store.CreateStrict(presented, request.TryEstablishSession);
        if (presented is not null)
        {
            try
            {
                await request.Session.LoadAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex)
            {
                if (_options.Value.UnavailableBehavior == EtcdSessionUnavailableBehavior.FailRequest)
                {
                    Log.LoadFailedRequestRefused(_logger, ex.Kind, ex);
                    await WriteProblemAsync(context, "The session store is unavailable.", "The session could not be loaded. Try again shortly.").ConfigureAwait(false);
                    return;
                }

                Log.LoadFailedContinuing(_logger, ex.Kind, ex);
            }
        }

        var feature = new EtcdSessionFeature(request.Session);
        context.Features.Set<ISessionFeature>(feature);
        context.Response.OnStarting(static state => ((RequestState)state).OnResponseStarting(), request);
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Features.Set<ISessionFeature>(null);
        }

        await CommitAsync(context, request).ConfigureAwait(false);
    }

    private async Task CommitAsync(HttpContext context, RequestState request)
    {
        var session = request.Session;
        var started = context.Response.HasStarted;
        try
        {
            // Not bound to RequestAborted: a write the endpoint made should persist even if the client left.
            // Every etcd call is still bounded by IOTimeout.
            await session.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex) when (started)
        {
            Log.CommitFailedAfterResponseStarted(_logger, session.IsAvailable ? session.Id : "(unavailable)", ex.Kind, ex);
        }
        catch (EtcdSessionException ex)
        {
            Log.CommitFailed(_logger, session.Id, ex.Kind, ex);
            request.SuppressCookie = true;
            context.Response.Clear();
            await WriteProblemAsync(context, "The session could not be saved.", "The changes this request made to the session were not saved. Try again shortly.").ConfigureAwait(false);
        }
    }

    private static Task WriteProblemAsync(HttpContext context, string title, string detail)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-cache,no-store";
        context.Response.Headers.RetryAfter = "1";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = title,
            Detail = detail,
            Type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        };
        return context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
    }

    /// <summary>One request's session and what it means for the cookie.</summary>
    private sealed class RequestState
    {
        private readonly HttpContext _context;
        private readonly SessionCookie _cookie;
        private readonly bool _cookiePresent;
        private readonly string? _presentedSecret;

        public RequestState(HttpContext context, SessionCookie cookie, bool cookiePresent, string? presentedSecret)
        {
            _context = context;
            _cookie = cookie;
            _cookiePresent = cookiePresent;
            _presentedSecret = presentedSecret;
        }

        public EtcdSession Session { get; set; } = null!;

        /// <summary>A failed commit turned the response into an error: leave the client's cookie alone.</summary>
        public bool SuppressCookie { get; set; }

        /// <summary>A new session may be written only while its cookie can still be sent.</summary>
        public bool TryEstablishSession() => !_context.Response.HasStarted;

        public Task OnResponseStarting()
        {
            var session = Session;
            if (SuppressCookie || !session.IsAvailable)
            {
                return Task.CompletedTask;
            }

            // Stored, or written and about to be committed (when the endpoint started the response itself).
            var live = session.IsStored || session.HasChanges;
            if (live && !string.Equals(session.SessionKey, _presentedSecret, StringComparison.Ordinal))
            {
                _cookie.Append(_context, session.SessionKey);
            }
            else if (!live && _cookiePresent)
            {
                // Destroyed, expired, unknown or unreadable: the old cookie opens nothing any more.
                _cookie.Delete(_context);
            }

            return Task.CompletedTask;
        }
    }
}
