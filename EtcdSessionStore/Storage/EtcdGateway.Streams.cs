using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.Storage;

// Watch streams (opened here, read by EtcdWatch), and the heartbeat the near cache watches for.
internal sealed partial class EtcdGateway
{
    /// <summary>The store can open streams on channels of its own (not with a client the app supplied).</summary>
    public bool CanOpenStreams => _endpoints.StreamEndpoints.Count > 0;

    /// <summary>
    /// Opens a watch on a stream of its own and waits for etcd to confirm it. The opening is a call like any other
    /// (operation <c>Watch</c>): IOTimeout, another member when one stalls or refuses, one span, one duration
    /// measurement. The stream it returns has no deadline: it lives until <paramref name="cancellationToken"/> is
    /// cancelled or it is disposed. It asks for a member with a leader (<c>hasleader</c>): a member cut off from its
    /// cluster cancels it instead of keeping it open and silent.
    /// </summary>
    /// <param name="request">What to watch, from which revision.</param>
    /// <param name="avoid">The member of the previous stream, which failed or went silent: another one when there is one.</param>
    /// <param name="cancellationToken">Ends the opening and, once open, the stream.</param>
    /// <returns>The open stream, positioned after etcd's confirmation (the caller disposes it), and its member.</returns>
    /// <exception cref="EtcdSessionException">The watch could not be opened.</exception>
    public Task<(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> Stream, EtcdEndpoint Member)> OpenWatchAsync(
        WatchCreateRequest request, EtcdEndpoint? avoid, CancellationToken cancellationToken) =>
        CallAsync("Watch", (Request: request, Lifetime: cancellationToken), static async (endpoint, s, deadline, ct) =>
        {
            var watches = endpoint.Watches ?? throw new EtcdSessionException(EtcdSessionErrorKind.EtcdError,
                $"etcd at {endpoint.Name} cannot be watched: the etcd client from EtcdSessionOptions.ClientFactory is not a dotnet-etcd EtcdClient.");
            var headers = new Metadata { { "hasleader", "true" } };
            if (endpoint.Credentials is { } credentials)
            {
                var auth = await endpoint.Client.AuthenticateAsync(new AuthenticateRequest { Name = credentials.User, Password = credentials.Password },
                    null, deadline, ct).ConfigureAwait(false);
                headers.Add("token", auth.Token);
            }

            // The stream lives as long as its owner wants; only the opening has the attempt's deadline.
            var call = watches.Watch(headers, cancellationToken: s.Lifetime);
            try
            {
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = s.Request }, ct).ConfigureAwait(false);
                if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false) || !call.ResponseStream.Current.Created || call.ResponseStream.Current.Canceled)
                {
                    var reason = call.ResponseStream.Current?.CancelReason;
                    throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable,
                        $"etcd at {endpoint.Name} refused the watch{(string.IsNullOrEmpty(reason) ? "" : ": " + reason)}.");
                }

                return (call, endpoint);
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }, avoid, cancellationToken);

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> on <paramref name="lease"/>.</summary>
    public Task<PutResponse> PutAsync(string key, ByteString value, long lease, CancellationToken cancellationToken) =>
        CallAsync("Put", new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = value, Lease = lease },
            static (c, r, deadline, ct) => c.PutAsync(r, null, deadline, ct), cancellationToken);
}
