namespace Aspire.Hosting.ApplicationModel;

/// <summary>One etcd process of a cluster: its name (the resource's and etcd's <c>--name</c>) and its two endpoints.</summary>
public interface IEtcdMember : IResourceWithEndpoints
{
    /// <summary>The member's client endpoint (etcd's client URL).</summary>
    EndpointReference ClientEndpoint { get; }

    /// <summary>The member's peer endpoint (etcd's peer URL, for the other members).</summary>
    EndpointReference PeerEndpoint { get; }
}
