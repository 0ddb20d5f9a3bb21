using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.AspNetCore;

// One request's way through the middleware: commit before the response, the cookie, the commit after it started.
internal sealed partial class EtcdSessionMiddleware
{
    /// <summary>One request's session and what it means for the cookie.</summary>
    private sealed class RequestState
    {
        private readonly HttpContext _context;
        private readonly SessionCookie _cookie;
        private readonly PresentedToken _presented;
        private readonly ILogger _logger;
        private readonly OnStartingBeforeCommitFeature _onStarting;
        private Task<EtcdSessionException?>? _beforeStart;
        private bool _discarded;

        public RequestState(HttpContext context, SessionCookie cookie, PresentedToken presented, EtcdSession session, OnStartingBeforeCommitFeature onStarting, ILogger logger)
        {
            _onStarting = onStarting;
            _context = context;
            _cookie = cookie;
            _presented = presented;
            Session = session;
            _logger = logger;
        }

        public EtcdSession Session { get; }

        /// <summary>Why the commit before the response failed, once it did.</summary>
        public EtcdSessionException? CommitFailure => _beforeStart is { IsCompletedSuccessfully: true } done ? done.Result : null;

        /// <summary>The commit before the response ran and succeeded.</summary>
        public bool Committed => _beforeStart is { IsCompletedSuccessfully: true, Result: null };

        /// <summary>The middleware is writing the error answer: the server's start of it must not commit again.</summary>
        public bool AnsweringWithError { get; set; }

        public void DiscardChanges() => _discarded = true;

        /// <summary>
        /// Runs the app's <c>OnStarting</c> callbacks, commits the changes made so far, then writes the cookie. Runs once;
        /// returns why the commit failed (a callback's exception is thrown).
        /// </summary>
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
            if (_discarded)
            {
                return; // the endpoint failed: its changes are not stored, and no refresh is owed either
            }

            var changed = Session.HasChanges;

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
            await _onStarting.RunCallbacksAsync().ConfigureAwait(false); // they may still change the session, as under the stock one
            Session.CloseToNewSessions(); // the response starts after this: no cookie could announce a session started later
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

        /// <summary>Writes what the session answers for the client's token: a new cookie, its deletion, or nothing.</summary>
        public async Task WriteCookieAsync()
        {
            var token = Session.TokenFor();
            if (token.Action == TokenAction.Issue)
            {
                await _cookie.AppendAsync(_context, token.Secret!, token.Revision, token.MaxAge, _presented, CancellationToken.None).ConfigureAwait(false);
            }
            else if (token.Action == TokenAction.Delete)
            {
                _cookie.Delete(_context);
            }
        }
    }
}
