namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A member of an etcd cluster beyond its first (<see cref="EtcdResource"/> is the first member and the cluster):
/// the <c>etcd</c> binary on the machine, run as an executable. Added by <c>WithMembers</c>.
/// </summary>
public sealed class EtcdMemberResource : ExecutableResource, IResourceWithParent<EtcdResource>, IEtcdMember
{
    /// <param name="name">The resource's name, which is also the member's etcd name (<c>--name</c>).</param>
    /// <param name="parent">The cluster this member belongs to.</param>
    public EtcdMemberResource(string name, EtcdResource parent)
        : base(name, EtcdResource.DefaultCommand, Path.GetTempPath())
    {
        ArgumentNullException.ThrowIfNull(parent);
        Parent = parent;
        ClientEndpoint = new EndpointReference(this, EtcdResource.ClientEndpointName);
        PeerEndpoint = new EndpointReference(this, EtcdResource.PeerEndpointName);
    }

    /// <summary>The cluster this member belongs to.</summary>
    public EtcdResource Parent { get; }

    /// <summary>The member's client endpoint (etcd's client URL).</summary>
    public EndpointReference ClientEndpoint { get; }

    /// <summary>The member's peer endpoint (etcd's peer URL, for the other members).</summary>
    public EndpointReference PeerEndpoint { get; }
}
