using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>
/// Stands between one instance's near cache and its watch streams: holds back their opening (<see cref="Hold"/>, as a
/// slow or unreachable member does), breaks the open one, keeps the first one silent after etcd confirmed it, and can
/// hold the next opening as soon as etcd reports a compaction.
/// </summary>
internal sealed class WatchGate : Interceptor
{
    private readonly TaskCompletionSource _compacted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _open = NewGate(open: true);
    private Action? _breakCurrent;
    private int _streams;

    /// <summary>The first stream delivers etcd's confirmation and then nothing, like a watch on a member that went silent.</summary>
    public bool SilenceFirstStream { get; init; }

    /// <summary>Once a stream reports that its start revision was compacted, the next opening is held.</summary>
    public bool HoldAfterCompaction { get; init; }

    /// <summary>Watch streams started so far.</summary>
    public int Streams => Volatile.Read(ref _streams);

    /// <summary>Completes when a stream has reported a compaction.</summary>
    public Task Compacted => _compacted.Task;

    /// <summary>From now on, a watch's create request waits until <see cref="Release"/>.</summary>
    public void Hold()
    {
        if (Volatile.Read(ref _open).Task.IsCompleted)
        {
            Volatile.Write(ref _open, NewGate(open: false));
        }
    }

    public void Release() => Volatile.Read(ref _open).TrySetResult();

    /// <summary>Ends the current stream as a broken connection does.</summary>
    public void BreakCurrent() => Volatile.Read(ref _breakCurrent)?.Invoke();

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(context);
        var silent = Interlocked.Increment(ref _streams) == 1 && SilenceFirstStream;
        Volatile.Write(ref _breakCurrent, call.Dispose);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(new GatedWriter<TRequest>(call.RequestStream, this), new Reader<TResponse>(call.ResponseStream, this, silent),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }

    private sealed class GatedWriter<T>(IClientStreamWriter<T> inner, WatchGate owner) : IClientStreamWriter<T>
    {
        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public Task CompleteAsync() => inner.CompleteAsync();

        public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

        public async Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            await Volatile.Read(ref owner._open).Task.WaitAsync(cancellationToken);
            await inner.WriteAsync(message, cancellationToken);
        }
    }

    private sealed class Reader<T>(IAsyncStreamReader<T> inner, WatchGate owner, bool silent) : IAsyncStreamReader<T>
    {
        private bool _confirmed;

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (silent && _confirmed)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var more = await inner.MoveNext(cancellationToken);
            _confirmed = true;
            if (more && inner.Current is WatchResponse { CompactRevision: > 0 })
            {
                if (owner.HoldAfterCompaction)
                {
                    owner.Hold();
                }

                owner._compacted.TrySetResult();
            }

            return more;
        }
    }
}
