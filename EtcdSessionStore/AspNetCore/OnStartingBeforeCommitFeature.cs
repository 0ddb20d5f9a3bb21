using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// The response feature as the endpoint sees it under <c>app.UseEtcdSession()</c>: the <c>OnStarting</c> callbacks the
/// app registers are held here and run, last registered first, just before the session is committed, while the
/// response has not started. Under the stock session they run as the server starts the response, before the session
/// is committed at the end of the request, so they may still change the session (MVC and Razor Pages save TempData
/// there); here the commit comes before the response starts, so the callbacks come before the commit. Callbacks
/// registered once they have run go to the server. Everything else is the server's feature.
/// </summary>
internal sealed class OnStartingBeforeCommitFeature : IHttpResponseFeature
{
    private readonly IHttpResponseFeature _inner;
    private Stack<(Func<object, Task> Callback, object State)>? _callbacks;
    private Task? _run;
    private bool _ran;

    public OnStartingBeforeCommitFeature(IHttpResponseFeature inner)
    {
        _inner = inner;
    }

    public int StatusCode
    {
        get => _inner.StatusCode;
        set => _inner.StatusCode = value;
    }

    public string? ReasonPhrase
    {
        get => _inner.ReasonPhrase;
        set => _inner.ReasonPhrase = value;
    }

    public IHeaderDictionary Headers
    {
        get => _inner.Headers;
        set => _inner.Headers = value;
    }

    [Obsolete("Use IHttpResponseBodyFeature.Stream instead.")]
    public Stream Body
    {
        get => _inner.Body;
        set => _inner.Body = value;
    }

    public bool HasStarted => _inner.HasStarted;

    public void OnStarting(Func<object, Task> callback, object state)
    {
        if (_ran || _inner.HasStarted)
        {
            _inner.OnStarting(callback, state); // the server runs it, or refuses it once the response started
            return;
        }

        (_callbacks ??= new()).Push((callback, state));
    }

    public void OnCompleted(Func<object, Task> callback, object state) => _inner.OnCompleted(callback, state);

    /// <summary>Runs the held callbacks once; a callback's exception ends the run and is thrown, as the server would report it.</summary>
    public Task RunCallbacksAsync() => _run ??= RunCoreAsync();

    private async Task RunCoreAsync()
    {
        try
        {
            // A callback may register another one: it runs in this loop too, as under the server.
            while (_callbacks is not null && _callbacks.TryPop(out var entry))
            {
                await entry.Callback(entry.State).ConfigureAwait(false);
            }
        }
        finally
        {
            _ran = true;
        }
    }
}
