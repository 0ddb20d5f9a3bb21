using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.Storage;

// The near cache's own watch stream, and the heartbeat it watches for.
internal sealed partial class EtcdGateway
{
    /// <summary>The store can open streams of its own (not with a client the app supplied, which offers no channel).</summary>
    public bool CanOpenStreams => _endpoints.StreamEndpoints.Count > 0;

    /// <summary>
    /// Opens a watch of [<paramref name="key"/>, <paramref name="rangeEnd"/>) from <paramref name="startRevision"/> on a
    /// stream of its own, on member <paramref name="member"/> (modulo the member count), and
    /// waits at most IOTimeout for etcd to confirm it. The stream asks for a member with a leader (<c>hasleader</c>):
    /// a member cut off from its cluster cancels it instead of keeping it open and silent.
    /// </summary>
    /// <returns>The open stream, positioned after etcd's confirmation; the caller disposes it.</returns>
    /// <exception cref="EtcdSessionException">The watch could not be opened.</exception>
    public async Task<AsyncDuplexStreamingCall<WatchRequest, WatchResponse>> OpenWatchStreamAsync(
        ByteString key, ByteString rangeEnd, long startRevision, int member, CancellationToken cancellationToken)
    {
        var members = _endpoints.StreamEndpoints;
        var endpoint = members[member % members.Count];
        using var opening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        opening.CancelAfter(_ioTimeout);
        AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? call = null;
        try
        {
            var headers = new Metadata { { "hasleader", "true" } };
            if (endpoint.Credentials is { } credentials)
            {
                var auth = await endpoint.Client.AuthenticateAsync(new AuthenticateRequest { Name = credentials.User, Password = credentials.Password },
                    null, DateTime.UtcNow + _ioTimeout, opening.Token).ConfigureAwait(false);
                headers.Add("token", auth.Token);
            }

            call = new Watch.WatchClient(endpoint.StreamInvoker).Watch(headers, cancellationToken: cancellationToken);
            await call.RequestStream.WriteAsync(new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = key, RangeEnd = rangeEnd, StartRevision = startRevision },
            }, opening.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(opening.Token).ConfigureAwait(false) || !call.ResponseStream.Current.Created || call.ResponseStream.Current.Canceled)
            {
                var reason = call.ResponseStream.Current?.CancelReason;
                throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable, $"etcd at {endpoint.Name} refused the watch{(string.IsNullOrEmpty(reason) ? "" : ": " + reason)}.");
            }

            return call;
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            call?.Dispose();
            throw new EtcdSessionException(opening.IsCancellationRequested ? EtcdSessionErrorKind.Timeout : EtcdSessionErrorKind.Unavailable,
                $"etcd at {endpoint.Name} did not open the watch within the IOTimeout of {_ioTimeout.TotalSeconds:0.###} s: {ex.Message}", ex);
        }
        catch
        {
            call?.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> on <paramref name="lease"/>.</summary>
    public Task<PutResponse> PutAsync(string key, ByteString value, long lease, CancellationToken cancellationToken) =>
        CallAsync("Put", new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = value, Lease = lease },
            static (c, r, deadline, ct) => c.PutAsync(r, null, deadline, ct), cancellationToken);
}
