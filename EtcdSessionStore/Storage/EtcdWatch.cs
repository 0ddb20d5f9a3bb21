using Etcdserverpb;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The store's one watch: a key range watched for as long as its owner wants, over as many streams as that takes (the
/// near cache's and the session events' both run on it). Each stream is opened through
/// <see cref="EtcdGateway.OpenWatchAsync"/>; when one breaks, is cancelled by etcd, or is restarted by its owner, the next
/// one opens on another member and resumes at the revision after the last one delivered, so that the owner sees every
/// change in order and none twice. A watch started at revision 0 starts "now": it delivers what follows the revision etcd
/// created it at. When etcd has compacted away the revision to resume at, the changes in between are gone: the owner is
/// told and says where to resume (<see cref="IOwner.CompactedAsync"/>).
/// </summary>
internal sealed class EtcdWatch
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(2);

    private readonly EtcdGateway _gateway;
    private readonly ByteString _key;
    private readonly ByteString _rangeEnd;
    private readonly bool _previousValues;
    private CancellationTokenSource? _current;
    private long _next;

    /// <param name="gateway">Opens the streams.</param>
    /// <param name="key">The first key of the range.</param>
    /// <param name="rangeEnd">The end of the range (exclusive).</param>
    /// <param name="previousValues">Deliver each change with the value before it (<c>prev_kv</c>).</param>
    public EtcdWatch(EtcdGateway gateway, ByteString key, ByteString rangeEnd, bool previousValues)
    {
        _gateway = gateway;
        _key = key;
        _rangeEnd = rangeEnd;
        _previousValues = previousValues;
    }

    /// <summary>What a watch's owner does with what it reads; called from the watch's one loop, one call at a time.</summary>
    public interface IOwner
    {
        /// <summary>A stream is open and delivers every change from <paramref name="firstRevision"/> on.</summary>
        /// <param name="requestedRevision">The revision the stream was asked to start at, 0 meaning now.</param>
        /// <param name="firstRevision">The first revision it delivers.</param>
        void Opened(long requestedRevision, long firstRevision);

        /// <summary>The changes of one response, in revision order.</summary>
        void Changed(RepeatedField<Mvccpb.Event> changes);

        /// <summary>
        /// etcd compacted <paramref name="wantedRevision"/> away (up to <paramref name="compactRevision"/>) before the stream
        /// delivered it: the changes in between are gone.
        /// </summary>
        /// <returns>The revision the next stream starts at.</returns>
        ValueTask<long> CompactedAsync(long wantedRevision, long compactRevision, CancellationToken cancellationToken);

        /// <summary>etcd cancelled the stream for another reason; the next one resumes where it stopped.</summary>
        void Canceled(string reason);

        /// <summary>The stream broke or could not be opened; the next one resumes where it stopped.</summary>
        void Broken(Exception exception);

        /// <summary>The stream ended (or never opened): nothing is delivered until the next <see cref="Opened"/>.</summary>
        void Closed();
    }

    /// <summary>Drops the current stream and opens a new one on another member (its owner found it silent).</summary>
    public void Restart()
    {
        try
        {
            Volatile.Read(ref _current)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the stream ended on its own meanwhile
        }
    }

    /// <summary>Watches until <paramref name="stopping"/> is cancelled.</summary>
    /// <param name="startRevision">The first revision to deliver, 0 meaning now.</param>
    /// <param name="owner">What to do with what the watch reads.</param>
    /// <param name="throwIfFirstOpenFails">
    /// Throw when the first stream cannot be opened (a caller is waiting for the watch to start), instead of trying again.
    /// </param>
    /// <param name="stopping">Ends the watch.</param>
    /// <exception cref="EtcdSessionException">The first stream could not be opened and <paramref name="throwIfFirstOpenFails"/>.</exception>
    public async Task RunAsync(long startRevision, IOwner owner, bool throwIfFirstOpenFails, CancellationToken stopping)
    {
        _next = startRevision;
        EtcdEndpoint? previous = null;
        var everOpened = false;
        for (var attempt = 0; !stopping.IsCancellationRequested; attempt++)
        {
            using var stream = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            Volatile.Write(ref _current, stream);
            try
            {
                // Every stream goes to another member than the last: the one that failed or went silent is the likeliest
                // to do so again.
                var (call, member) = await _gateway.OpenWatchAsync(Request(), previous, stream.Token).ConfigureAwait(false);
                using (call)
                {
                    previous = member;
                    everOpened = true;
                    var requested = _next;
                    if (_next == 0)
                    {
                        _next = call.ResponseStream.Current.Header.Revision + 1;
                    }

                    owner.Opened(requested, _next);
                    attempt = -1;
                    await ReadAsync(call, owner, stream.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (EtcdSessionException) when (throwIfFirstOpenFails && !everOpened)
            {
                throw;
            }
            catch (Exception ex) when (ex is EtcdSessionException or RpcException or OperationCanceledException or IOException)
            {
                owner.Broken(ex);
            }
            finally
            {
                Volatile.Write(ref _current, null);
                owner.Closed();
            }

            try
            {
                await Task.Delay(ReconnectDelay(attempt), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private WatchCreateRequest Request() => new() { Key = _key, RangeEnd = _rangeEnd, StartRevision = _next, PrevKv = _previousValues };

    private async Task ReadAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, IOwner owner, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            if (response.CompactRevision > 0)
            {
                _next = await owner.CompactedAsync(_next, response.CompactRevision, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (response.Canceled)
            {
                owner.Canceled(response.CancelReason);
                return;
            }

            if (response.Events.Count > 0)
            {
                owner.Changed(response.Events);
                _next = response.Events[^1].Kv.ModRevision + 1;
            }
        }
    }

    /// <summary>At once after a stream that was open; then 100 ms, doubling, up to 2 s while streams cannot be opened.</summary>
    private static TimeSpan ReconnectDelay(int attempt) =>
        attempt <= 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Min(MaxReconnectDelay.TotalMilliseconds, 50 * Math.Pow(2, attempt)));
}
