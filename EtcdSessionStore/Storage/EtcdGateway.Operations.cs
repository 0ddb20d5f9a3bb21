using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Storage;

// Calls for operators and observers: cluster status, leases, and the session watch.
internal sealed partial class EtcdGateway
{
    /// <summary>The cluster status of the member that answers (db size, version, revision).</summary>
    public Task<StatusResponse> StatusAsync(CancellationToken cancellationToken) =>
        CallAsync("Status", new StatusRequest(), static (c, r, deadline, ct) => c.StatusAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>Every lease the cluster holds.</summary>
    public Task<LeaseLeasesResponse> LeasesAsync(CancellationToken cancellationToken) =>
        CallAsync("LeaseLeases", new LeaseLeasesRequest(), static (c, r, deadline, ct) => c.LeaseLeasesAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>
    /// Opens a watch on every key under <paramref name="prefix"/> from <paramref name="startRevision"/>, with
    /// previous values. The watch itself is long-lived and has no deadline; opening it does. All watches share
    /// the client's one stream, which is why its lifetime is not tied to <paramref name="cancellationToken"/>:
    /// stop it with <see cref="CancelWatch"/>.
    /// </summary>
    /// <returns>The watch id.</returns>
    public async Task<long> WatchAsync(string prefix, long startRevision, Action<WatchResponse> onResponse, CancellationToken cancellationToken)
    {
        var request = new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(prefix),
                RangeEnd = KeyRange.End(prefix),
                StartRevision = startRevision,
                PrevKv = true,
            },
        };
        try
        {
            return await _endpoints.WatchClient.WatchAsync(request, onResponse, null, null, CancellationToken.None)
                .WaitAsync(_ioTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new EtcdSessionException(EtcdSessionErrorKind.Timeout, $"etcd Watch could not be opened within the IOTimeout of {_ioTimeout.TotalSeconds:0.###} s.", ex);
        }
        catch (Grpc.Core.RpcException ex)
        {
            throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable, $"etcd Watch could not be opened: {ex.Status.Detail} ({ex.StatusCode}).", ex);
        }
    }

    /// <summary>
    /// One health probe of a member that <see cref="EtcdEndpointPool"/> set aside: a one-key Range on that member's own
    /// client (the pool's choice of member is what is being tested), one attempt, no retry.
    /// </summary>
    public static Task ProbeAsync(EtcdEndpoint endpoint, RangeRequest probe, TimeSpan timeout, CancellationToken cancellationToken) =>
        endpoint.Client.GetAsync(probe, null, DateTime.UtcNow + timeout, cancellationToken);

    /// <summary>Stops a watch opened by <see cref="WatchAsync"/>.</summary>
    public void CancelWatch(long watchId) => _endpoints.WatchClient.CancelWatch(watchId);
}
