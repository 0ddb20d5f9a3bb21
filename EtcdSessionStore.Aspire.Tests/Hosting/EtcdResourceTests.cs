using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Etcd.AspNetCore.Session.Aspire.Tests.Hosting;

/// <summary>The etcd resource's model: its members, connection string and command lines, with endpoints allocated by hand.</summary>
public sealed class EtcdResourceTests
{
    [Test]
    public void AddEtcd_IsOneMember_RunningEtcdFromPath()
    {
        var builder = DistributedApplication.CreateBuilder();

        var etcd = builder.AddEtcd("etcd");

        Assert.Multiple(() =>
        {
            Assert.That(etcd.Resource.Members, Is.EqualTo(new IEtcdMember[] { etcd.Resource }));
            Assert.That(etcd.Resource.Command, Is.EqualTo("etcd"));
            Assert.That(etcd.Resource.Annotations.OfType<HealthCheckAnnotation>().Select(a => a.Key), Is.EqualTo(new[] { "etcd_check" }));
        });
    }

    [Test]
    public void WithMembers_AddsChildMembers_NamedAfterTheCluster()
    {
        var builder = DistributedApplication.CreateBuilder();

        var etcd = builder.AddEtcd("sessions").WithMembers(3);

        var children = builder.Resources.OfType<EtcdMemberResource>().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(etcd.Resource.Members.Select(m => m.Name), Is.EqualTo(new[] { "sessions", "sessions-2", "sessions-3" }));
            Assert.That(children.Select(c => c.Name), Is.EqualTo(new[] { "sessions-2", "sessions-3" }));
            Assert.That(children.All(c => c.Parent == etcd.Resource && c.Command == "etcd"), Is.True);
        });
    }

    [Test]
    public void WithMembers_BelowOne_OrTwice_Throws()
    {
        var builder = DistributedApplication.CreateBuilder();
        var etcd = builder.AddEtcd("etcd");

        Assert.That(() => etcd.WithMembers(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        etcd.WithMembers(3);
        Assert.That(() => etcd.WithMembers(5), Throws.InvalidOperationException.With.Message.Contains("call WithMembers once"));
    }

    [Test]
    public async Task ConnectionString_IsEveryMembersClientUrl_CommaSeparated()
    {
        var builder = DistributedApplication.CreateBuilder();
        var etcd = builder.AddEtcd("etcd").WithMembers(3);
        Allocate(etcd.Resource, 41001);

        var connectionString = await etcd.Resource.ConnectionStringExpression.GetValueAsync(CancellationToken.None);

        Assert.That(connectionString, Is.EqualTo("http://127.0.0.1:41001,http://127.0.0.1:41003,http://127.0.0.1:41005"));
    }

    [Test]
    public async Task EachMember_ListensOnItsPorts_AndKnowsEveryPeer()
    {
        var builder = DistributedApplication.CreateBuilder();
        var etcd = builder.AddEtcd("etcd").WithMembers(3).WithDataDirectory(Path.Combine(Path.GetTempPath(), "never-created"));
        Allocate(etcd.Resource, 42001);

        var second = await ArgsOf(etcd.Resource.Members[1]);

        Assert.Multiple(() =>
        {
            Assert.That(second["--name"], Is.EqualTo("etcd-2"));
            Assert.That(second["--listen-client-urls"], Is.EqualTo("http://127.0.0.1:42003"));
            Assert.That(second["--advertise-client-urls"], Is.EqualTo("http://127.0.0.1:42003"));
            Assert.That(second["--listen-peer-urls"], Is.EqualTo("http://127.0.0.1:42004"));
            Assert.That(second["--initial-advertise-peer-urls"], Is.EqualTo("http://127.0.0.1:42004"));
            Assert.That(second["--initial-cluster"], Is.EqualTo("etcd=http://127.0.0.1:42002,etcd-2=http://127.0.0.1:42004,etcd-3=http://127.0.0.1:42006"));
            Assert.That(second["--initial-cluster-token"], Is.EqualTo("etcd"));
            Assert.That(second["--initial-cluster-state"], Is.EqualTo("new"));
        });
    }

    [Test]
    public async Task WithDataDirectory_KeepsEachMembersData_InItsOwnSubdirectory()
    {
        var builder = DistributedApplication.CreateBuilder();
        var kept = Path.Combine(Path.GetTempPath(), "kept-etcd-" + Guid.NewGuid().ToString("N"));
        var etcd = builder.AddEtcd("etcd").WithMembers(2).WithDataDirectory(kept);
        Allocate(etcd.Resource, 43001);

        var dirs = await Task.WhenAll(etcd.Resource.Members.Select(async m => (await ArgsOf(m))["--data-dir"]));

        Assert.Multiple(() =>
        {
            Assert.That(etcd.Resource.DataDirectory, Is.EqualTo(kept));
            Assert.That(dirs, Is.EqualTo(new[] { Path.Combine(kept, "etcd"), Path.Combine(kept, "etcd-2") }));
        });
    }

    [Test]
    public void WithDataDirectory_RelativePath_IsTakenFromTheAppHostsDirectory()
    {
        var builder = DistributedApplication.CreateBuilder();

        var etcd = builder.AddEtcd("etcd").WithDataDirectory("etcd-data");

        Assert.That(etcd.Resource.DataDirectory, Is.EqualTo(Path.Combine(builder.AppHostDirectory, "etcd-data")));
    }

    [Test]
    public async Task WithoutDataDirectory_EachRun_UsesANewTemporaryDirectory()
    {
        var first = DistributedApplication.CreateBuilder().AddEtcd("etcd");
        var second = DistributedApplication.CreateBuilder().AddEtcd("etcd");
        Allocate(first.Resource, 44001);
        Allocate(second.Resource, 44003);

        var firstDir = (await ArgsOf(first.Resource))["--data-dir"];
        var secondDir = (await ArgsOf(second.Resource))["--data-dir"];
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(first.Resource.DataDirectory, Is.Null);
                Assert.That(firstDir, Does.StartWith(Path.GetTempPath()).And.EndWith(Path.DirectorySeparatorChar + "etcd"));
                Assert.That(Path.GetDirectoryName(firstDir), Is.Not.EqualTo(Path.GetDirectoryName(secondDir)));
            });
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(firstDir)!, recursive: true);
            Directory.Delete(Path.GetDirectoryName(secondDir)!, recursive: true);
        }
    }

    [Test]
    public void WithPeerPorts_FixesEachMembersPeerPort_WhicheverCallComesFirst()
    {
        var before = DistributedApplication.CreateBuilder().AddEtcd("etcd").WithPeerPorts(45000).WithMembers(3);
        var after = DistributedApplication.CreateBuilder().AddEtcd("etcd").WithMembers(3).WithPeerPorts(45000);

        foreach (var etcd in new[] { before, after })
        {
            var ports = etcd.Resource.Members.Select(m => (m.PeerEndpoint.EndpointAnnotation.Port, m.PeerEndpoint.EndpointAnnotation.TargetPort));
            Assert.That(ports, Is.EqualTo(new (int?, int?)[] { (45000, 45000), (45001, 45001), (45002, 45002) }));
        }
    }

    /// <summary>Gives member <c>i</c> the client port <paramref name="first"/> + 2i and the peer port after it, as the app host would.</summary>
    internal static void Allocate(EtcdResource etcd, int first)
    {
        var port = first;
        foreach (var member in etcd.Members)
        {
            foreach (var endpoint in new[] { member.ClientEndpoint, member.PeerEndpoint })
            {
                var annotation = endpoint.EndpointAnnotation;
                annotation.AllocatedEndpoint = new AllocatedEndpoint(annotation, "localhost", port++);
            }
        }
    }

    /// <summary>The member's command line as option/value pairs, its expressions evaluated.</summary>
    private static async Task<Dictionary<string, string>> ArgsOf(IEtcdMember member)
    {
        var args = new List<object>();
        var context = new CommandLineArgsCallbackContext(args, member, CancellationToken.None);
        foreach (var callback in member.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        var values = new List<string>();
        foreach (var arg in args)
        {
            values.Add(arg switch
            {
                string text => text,
                IValueProvider provider => await provider.GetValueAsync(CancellationToken.None) ?? "",
                _ => throw new InvalidOperationException($"Unexpected argument {arg.GetType()}"),
            });
        }

        var pairs = new Dictionary<string, string>();
        for (var i = 0; i + 1 < values.Count; i += 2)
        {
            pairs[values[i]] = values[i + 1];
        }

        return pairs;
    }
}
