using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.AspNetCore;

internal sealed partial class CommitBeforeStartBodyFeature
{
    /// <summary>
    /// The body writer. Before the commit, bytes the endpoint writes are held here (GetMemory and Advance cannot wait
    /// for etcd); the flush that would send them commits first, and bytes never flushed go out once the endpoint
    /// returned and the session is committed (<see cref="SendHeldAsync"/>).
    /// </summary>
    private sealed class CommitFirstPipeWriter : PipeWriter
    {
        private readonly CommitBeforeStartBodyFeature _owner;
        private readonly IHttpResponseBodyFeature _inner;
        private ArrayBufferWriter<byte>? _held;
        private bool _lentHeld;

        public CommitFirstPipeWriter(CommitBeforeStartBodyFeature owner, IHttpResponseBodyFeature inner)
        {
            _owner = owner;
            _inner = inner;
        }

        public bool HoldsBytes => _held is { WrittenCount: > 0 };

        public override bool CanGetUnflushedBytes => _inner.Writer.CanGetUnflushedBytes;

        public override long UnflushedBytes => _inner.Writer.UnflushedBytes + (_held?.WrittenCount ?? 0);

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            _lentHeld = !_owner.Committed;
            return _lentHeld ? (_held ??= new ArrayBufferWriter<byte>()).GetMemory(sizeHint) : _inner.Writer.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            _lentHeld = !_owner.Committed;
            return _lentHeld ? (_held ??= new ArrayBufferWriter<byte>()).GetSpan(sizeHint) : _inner.Writer.GetSpan(sizeHint);
        }

        public override void Advance(int bytes)
        {
            if (!_lentHeld)
            {
                _inner.Writer.Advance(bytes);
                return;
            }

            _held!.Advance(bytes);
            if (_owner.Committed)
            {
                MoveBufferedToInner();
            }
        }

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            await _owner.CommitAsync().ConfigureAwait(false);
            MoveBufferedToInner();
            return await _inner.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override async ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            await _owner.CommitAsync().ConfigureAwait(false);
            MoveBufferedToInner();
            return await _inner.Writer.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        }

        public override void CancelPendingFlush() => _inner.Writer.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            if (_held is { WrittenCount: > 0 } && !_owner.Committed)
            {
                throw new InvalidOperationException("The response writer holds bytes that wait for the session commit; complete it with CompleteAsync.");
            }

            MoveBufferedToInner();
            _inner.Writer.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            await _owner.CommitAsync().ConfigureAwait(false);
            MoveBufferedToInner();
            await _inner.Writer.CompleteAsync(exception).ConfigureAwait(false);
        }

        /// <summary>Hands the bytes written before the commit to the server's writer (in memory; the next flush sends them).</summary>
        public void MoveBufferedToInner()
        {
            if (_held is not { WrittenCount: > 0 } held)
            {
                return;
            }

            _inner.Writer.Write(held.WrittenSpan);
            held.ResetWrittenCount();
        }
    }
}
