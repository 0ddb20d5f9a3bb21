namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// An etcd cluster of one or more members, each the <c>etcd</c> binary on the machine run as an executable (no
/// container engine needed). This resource is the cluster and its first member; <c>WithMembers</c> adds the others
/// as child resources. Its connection string is every member's client URL, comma-separated
/// (<c>http://127.0.0.1:PORT,http://127.0.0.1:PORT,...</c>), which is what <c>EtcdSessionOptions.Endpoints</c> takes.
/// </summary>
public sealed class EtcdResource : ExecutableResource, IResourceWithConnectionString, IEtcdMember
{
    /// <summary>The command run for every member: <c>etcd</c>, found on PATH (Debian and Ubuntu: package <c>etcd-server</c>).</summary>
    public const string DefaultCommand = "etcd";

    /// <summary>The name of each member's client endpoint: <c>client</c>.</summary>
    public const string ClientEndpointName = "client";

    /// <summary>The name of each member's peer endpoint: <c>peer</c>.</summary>
    public const string PeerEndpointName = "peer";

    private readonly List<IEtcdMember> _members;

    /// <param name="name">The resource's name, which is also the first member's etcd name (<c>--name</c>).</param>
    public EtcdResource(string name)
        : base(name, DefaultCommand, Path.GetTempPath())
    {
        ClientEndpoint = new EndpointReference(this, ClientEndpointName);
        PeerEndpoint = new EndpointReference(this, PeerEndpointName);
        _members = [this];
    }

    /// <summary>The first member's client endpoint (etcd's client URL).</summary>
    public EndpointReference ClientEndpoint { get; }

    /// <summary>The first member's peer endpoint (etcd's peer URL, for the other members).</summary>
    public EndpointReference PeerEndpoint { get; }

    /// <summary>Every member, this resource first.</summary>
    public IReadOnlyList<IEtcdMember> Members => _members;

    /// <summary>
    /// The directory under which each member keeps its data, in a subdirectory named after the member; <see langword="null"/>
    /// (the default) for a new temporary directory per run, deleted when the app host stops.
    /// </summary>
    public string? DataDirectory { get; internal set; }

    /// <summary>The directory a run uses when <see cref="DataDirectory"/> is not set: created on first use, deleted when the app host stops.</summary>
    internal Lazy<string> TemporaryDataDirectory { get; } = new(() => Directory.CreateTempSubdirectory("aspire-etcd-").FullName);

    /// <summary>
    /// The first member's peer port when the peer ports are fixed (member <c>i</c> listens on this plus <c>i - 1</c>);
    /// <see langword="null"/> (the default) to let the app host pick free ports each run.
    /// </summary>
    public int? FirstPeerPort { get; internal set; }

    /// <summary>Every member's client URL, comma-separated, in member order.</summary>
    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            var builder = new ReferenceExpressionBuilder();
            for (var i = 0; i < _members.Count; i++)
            {
                if (i > 0)
                {
                    builder.AppendLiteral(",");
                }

                builder.Append($"http://127.0.0.1:{_members[i].ClientEndpoint.Property(EndpointProperty.Port)}");
            }

            return builder.Build();
        }
    }

    /// <summary>The directory a member keeps its data in.</summary>
    internal string DataDirectoryOf(IEtcdMember member) =>
        Path.Combine(DataDirectory ?? TemporaryDataDirectory.Value, member.Name);

    internal void AddMember(EtcdMemberResource member) => _members.Add(member);
}
