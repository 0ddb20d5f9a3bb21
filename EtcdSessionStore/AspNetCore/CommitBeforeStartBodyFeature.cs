using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// The response body as the endpoint sees it under <c>app.UseEtcdSession()</c>: the first write, flush, start or
/// file send runs the app's <c>OnStarting</c> callbacks and commits the session first, while the status line and
/// headers can still change. Nothing has reached the server's output by then, so a failed commit can still become an
/// error response; the endpoint's write then throws and its body is never sent.
/// </summary>
internal sealed partial class CommitBeforeStartBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly Func<Task> _runOnStarting;
    private readonly Func<Task<EtcdSessionException?>> _beforeStart;
    private readonly Func<bool> _hasUnsavedChanges;
    private CommitFirstStream? _stream;
    private CommitFirstPipeWriter? _writer;

    /// <param name="inner">The server's body feature.</param>
    /// <param name="runOnStarting">Runs the app's <c>OnStarting</c> callbacks (once); <paramref name="beforeStart"/> does too, first.</param>
    /// <param name="beforeStart">Commits the session and writes the cookie; returns why the commit failed, if it did.</param>
    /// <param name="hasUnsavedChanges">Whether <paramref name="beforeStart"/> has I/O to do (a synchronous write cannot wait for it).</param>
    public CommitBeforeStartBodyFeature(IHttpResponseBodyFeature inner, Func<Task> runOnStarting, Func<Task<EtcdSessionException?>> beforeStart, Func<bool> hasUnsavedChanges)
    {
        _inner = inner;
        _runOnStarting = runOnStarting;
        _beforeStart = beforeStart;
        _hasUnsavedChanges = hasUnsavedChanges;
    }

    /// <summary>The session was committed and the response may start.</summary>
    internal bool Committed { get; private set; }

    public Stream Stream => _stream ??= new CommitFirstStream(this, _inner);

    public PipeWriter Writer => _writer ??= new CommitFirstPipeWriter(this, _inner);

    public void DisableBuffering() => _inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await CommitAsync().ConfigureAwait(false);
        await _inner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await CommitAsync().ConfigureAwait(false);
        await _inner.SendFileAsync(path, offset, count, cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteAsync()
    {
        await CommitAsync().ConfigureAwait(false);
        _writer?.MoveBufferedToInner();
        await _inner.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Commits the session unless that is done; throws when the commit failed, so that nothing is sent.</summary>
    internal ValueTask CommitAsync() => Committed ? default : new ValueTask(CommitSlowAsync());

    /// <summary>For synchronous writes: commits when that needs no I/O, else refuses (no blocking on etcd).</summary>
    internal void Commit()
    {
        if (Committed)
        {
            return;
        }

        // The callbacks first: they may change the session (MVC saves TempData there).
        var callbacks = _runOnStarting();
        if (!callbacks.IsCompleted)
        {
            throw new InvalidOperationException(
                "A synchronous write would start the response while an OnStarting callback is still running; use WriteAsync or FlushAsync.");
        }

        callbacks.GetAwaiter().GetResult(); // completed: throws the callback's exception, if any
        var commit = _hasUnsavedChanges() ? null : _beforeStart();
        if (commit is not { IsCompleted: true })
        {
            throw new InvalidOperationException(
                "A synchronous write would start the response while the session has unsaved changes; the session is committed asynchronously before the response starts, so use WriteAsync or FlushAsync.");
        }

        ThrowIfFailed(commit.Result);
        Committed = true;
        _writer?.MoveBufferedToInner();
    }

    /// <summary>
    /// The endpoint returned and the session is committed: bytes it left unflushed in the body writer go to the server
    /// now, as the server sends what is left in its own writer when the endpoint returns.
    /// </summary>
    internal async Task SendHeldAsync(CancellationToken cancellationToken)
    {
        if (_writer is { HoldsBytes: true } writer)
        {
            writer.MoveBufferedToInner();
            await _inner.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CommitSlowAsync()
    {
        ThrowIfFailed(await _beforeStart().ConfigureAwait(false));
        Committed = true;
        _writer?.MoveBufferedToInner();
    }

    private static void ThrowIfFailed(EtcdSessionException? failure)
    {
        if (failure is not null)
        {
            throw new EtcdSessionException(failure.Kind, "The session could not be saved, so the response is not sent: " + failure.Message, failure);
        }
    }

    /// <summary>The body stream: writes and flushes commit first.</summary>
    private sealed class CommitFirstStream : Stream
    {
        private readonly CommitBeforeStartBodyFeature _owner;
        private readonly IHttpResponseBodyFeature _inner;

        public CommitFirstStream(CommitBeforeStartBodyFeature owner, IHttpResponseBodyFeature inner)
        {
            _owner = owner;
            _inner = inner;
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
            _owner.Commit();
            _inner.Stream.Flush();
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            await _owner.CommitAsync().ConfigureAwait(false);
            await _inner.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            _owner.Commit();
            _inner.Stream.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _owner.CommitAsync().ConfigureAwait(false);
            await _inner.Stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
