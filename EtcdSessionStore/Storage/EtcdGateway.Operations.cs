using Etcdserverpb;

namespace Etcd.AspNetCore.Session.Storage;

// Calls for operators and observers: cluster status, leases, and the pool's health probes.
internal sealed partial class EtcdGateway
{
    /// <summary>The cluster status of the member that answers (db size, version, revision).</summary>
    public Task<StatusResponse> StatusAsync(CancellationToken cancellationToken) =>
        CallAsync("Status", new StatusRequest(), static (c, r, deadline, ct) => c.StatusAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>Every lease the cluster holds.</summary>
    public Task<LeaseLeasesResponse> LeasesAsync(CancellationToken cancellationToken) =>
        CallAsync("LeaseLeases", new LeaseLeasesRequest(), static (c, r, deadline, ct) => c.LeaseLeasesAsync(r, null, deadline, ct), cancellationToken);

    /// <summary>
    /// One health probe of a member that <see cref="EtcdEndpointPool"/> set aside: a one-key Range on that member's own
    /// client (the pool's choice of member is what is being tested), one attempt, no retry.
    /// </summary>
    public static Task ProbeAsync(EtcdEndpoint endpoint, RangeRequest probe, TimeSpan timeout, CancellationToken cancellationToken) =>
        endpoint.Client.GetAsync(probe, null, DateTime.UtcNow + timeout, cancellationToken);
}
