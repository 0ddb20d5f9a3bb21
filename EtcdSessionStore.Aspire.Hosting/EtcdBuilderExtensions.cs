using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>Adds etcd to an Aspire app host: one member or a cluster, run from the <c>etcd</c> binary on the machine.</summary>
public static class EtcdBuilderExtensions
{
    /// <summary>
    /// Adds an etcd cluster of one member that runs <c>etcd</c> from PATH as an executable (no container engine needed;
    /// Debian and Ubuntu: <c>apt-get install etcd-server</c>). Its connection string is the members' client URLs,
    /// comma-separated; its health check asks every member's <c>/health</c>. Data goes to a temporary directory
    /// deleted when the app host stops, unless <see cref="WithDataDirectory"/> keeps it.
    /// </summary>
    /// <param name="builder">The app host's builder.</param>
    /// <param name="name">The resource's name: the connection string's name, and the first member's etcd name.</param>
    /// <param name="port">The first member's client port; <see langword="null"/> (the default) for a free port picked each run.</param>
    public static IResourceBuilder<EtcdResource> AddEtcd(this IDistributedApplicationBuilder builder, string name, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);

        var etcd = new EtcdResource(name);
        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthCheckKey, _ => new EtcdHealthCheck(etcd), failureStatus: null, tags: null));

        // The temporary data directory goes when the app host has stopped (and with it the members it ran).
        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() => DeleteTemporaryDataDirectory(etcd));
            return Task.CompletedTask;
        });

        return ConfigureMember(builder.AddResource(etcd), etcd, etcd, port).WithHealthCheck(healthCheckKey);
    }

    /// <summary>
    /// Makes the cluster <paramref name="count"/> members (3 or 5 for a cluster that survives the loss of one or two).
    /// The members beyond the first are child resources named <c>{name}-2</c>, <c>{name}-3</c>, and so on; each has its
    /// own client and peer endpoints and data directory. Call it once.
    /// </summary>
    public static IResourceBuilder<EtcdResource> WithMembers(this IResourceBuilder<EtcdResource> builder, int count)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var cluster = builder.Resource;
        if (cluster.Members.Count > 1)
        {
            throw new InvalidOperationException($"The etcd resource '{cluster.Name}' already has {cluster.Members.Count} members: call WithMembers once.");
        }

        for (var i = 2; i <= count; i++)
        {
            var member = new EtcdMemberResource($"{cluster.Name}-{i}", cluster);
            cluster.AddMember(member);
            ConfigureMember(builder.ApplicationBuilder.AddResource(member), cluster, member, port: null);
        }

        return builder;
    }

    /// <summary>
    /// Keeps the cluster's data in <paramref name="path"/> (relative paths are taken from the app host's directory), one
    /// subdirectory per member named after it, so that sessions survive a restart of the app host. etcd records its
    /// members' peer URLs there: a kept cluster of more than one member also needs <see cref="WithPeerPorts"/>.
    /// </summary>
    public static IResourceBuilder<EtcdResource> WithDataDirectory(this IResourceBuilder<EtcdResource> builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        builder.Resource.DataDirectory = Path.GetFullPath(path, builder.ApplicationBuilder.AppHostDirectory);
        return builder;
    }

    /// <summary>
    /// Fixes the members' peer ports: the first member listens on <paramref name="firstPort"/>, the second on the next
    /// port, and so on. A cluster kept with <see cref="WithDataDirectory"/> needs them: its members find each other at
    /// the peer URLs recorded when the cluster was created.
    /// </summary>
    public static IResourceBuilder<EtcdResource> WithPeerPorts(this IResourceBuilder<EtcdResource> builder, int firstPort)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(firstPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstPort, 65535);
        var cluster = builder.Resource;
        cluster.FirstPeerPort = firstPort;
        foreach (var member in cluster.Members)
        {
            FixPeerPort(member.PeerEndpoint.EndpointAnnotation, cluster, member);
        }

        return builder;
    }

    private static IResourceBuilder<T> ConfigureMember<T>(IResourceBuilder<T> member, EtcdResource cluster, IEtcdMember self, int? port)
        where T : ExecutableResource, IEtcdMember
    {
        // Not proxied: each member listens on its endpoints' allocated ports itself and advertises those URLs, to the
        // clients and to the other members.
        return member
            .WithEndpoint(port: port, targetPort: port, scheme: "http", name: EtcdResource.ClientEndpointName, isProxied: false)
            .WithEndpoint(scheme: "http", name: EtcdResource.PeerEndpointName, isProxied: false)
            .WithEndpoint(EtcdResource.PeerEndpointName, endpoint => FixPeerPort(endpoint, cluster, self))
            .WithArgs(context =>
            {
                var clientUrl = ReferenceExpression.Create($"http://127.0.0.1:{self.ClientEndpoint.Property(EndpointProperty.Port)}");
                var peerUrl = ReferenceExpression.Create($"http://127.0.0.1:{self.PeerEndpoint.Property(EndpointProperty.Port)}");
                context.Args.Add("--name");
                context.Args.Add(self.Name);
                context.Args.Add("--data-dir");
                context.Args.Add(cluster.DataDirectoryOf(self));
                context.Args.Add("--listen-client-urls");
                context.Args.Add(clientUrl);
                context.Args.Add("--advertise-client-urls");
                context.Args.Add(clientUrl);
                context.Args.Add("--listen-peer-urls");
                context.Args.Add(peerUrl);
                context.Args.Add("--initial-advertise-peer-urls");
                context.Args.Add(peerUrl);
                context.Args.Add("--initial-cluster");
                context.Args.Add(InitialCluster(cluster));
                context.Args.Add("--initial-cluster-token");
                context.Args.Add(cluster.Name);
                context.Args.Add("--initial-cluster-state");
                context.Args.Add("new"); // ignored by a member that finds its data from an earlier run
            });
    }

    /// <summary><c>name=http://127.0.0.1:PEERPORT</c> for every member, comma-separated.</summary>
    private static ReferenceExpression InitialCluster(EtcdResource cluster)
    {
        var builder = new ReferenceExpressionBuilder();
        foreach (var member in cluster.Members)
        {
            if (!builder.IsEmpty)
            {
                builder.AppendLiteral(",");
            }

            builder.Append($"{member.Name}=http://127.0.0.1:{member.PeerEndpoint.Property(EndpointProperty.Port)}");
        }

        return builder.Build();
    }

    /// <summary>Member <c>i</c> (from 0) listens on <see cref="EtcdResource.FirstPeerPort"/> + <c>i</c>, when the peer ports are fixed.</summary>
    private static void FixPeerPort(EndpointAnnotation endpoint, EtcdResource cluster, IEtcdMember member)
    {
        if (cluster.FirstPeerPort is { } first)
        {
            var index = 0;
            while (!ReferenceEquals(cluster.Members[index], member))
            {
                index++;
            }

            endpoint.Port = first + index;
            endpoint.TargetPort = first + index;
        }
    }

    private static void DeleteTemporaryDataDirectory(EtcdResource etcd)
    {
        if (!etcd.TemporaryDataDirectory.IsValueCreated)
        {
            return;
        }

        try
        {
            Directory.Delete(etcd.TemporaryDataDirectory.Value, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a member still shutting down may hold a file; the directory is under the system's temp dir.
        }
    }
}
