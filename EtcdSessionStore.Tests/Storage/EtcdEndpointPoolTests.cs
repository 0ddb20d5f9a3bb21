using dotnet_etcd.interfaces;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace Etcd.AspNetCore.Session.Tests.Storage;

/// <summary>Which member a call goes to: a member that stalls is set aside until its probe answers.</summary>
public sealed class EtcdEndpointPoolTests
{
    private const string ProbeKey = "app/";

    [Test]
    public async Task AStalledMember_IsSetAside_AndLaterCallsGoToTheOtherMembers()
    {
        var frozen = new Member(answers: false);
        var healthy = new Member(answers: true);
        using var pool = Pool(frozen, healthy);
        var gateway = new EtcdGateway(pool, TimeSpan.FromSeconds(2), NullLogger.Instance);

        for (var i = 0; i < 10; i++)
        {
            await gateway.GetAsync("app/s/key", CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(frozen.SessionCalls, Is.EqualTo(1), "only the first call stalled on the frozen member");
            Assert.That(healthy.SessionCalls, Is.EqualTo(10));
        });
    }

    [Test]
    public async Task ASetAsideMember_TakesCallsAgain_OnceItsProbeAnswers()
    {
        var member = new Member(answers: false);
        var other = new Member(answers: true);
        using var pool = Pool(member, other);
        var gateway = new EtcdGateway(pool, TimeSpan.FromSeconds(2), NullLogger.Instance);
        await gateway.GetAsync("app/s/key", CancellationToken.None);

        member.Answers = true; // thawed
        await Task.Delay(TimeSpan.FromSeconds(1.8)); // one probe interval and a probe
        for (var i = 0; i < 10; i++)
        {
            await gateway.GetAsync("app/s/key", CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(member.ProbeCalls, Is.GreaterThanOrEqualTo(1));
            Assert.That(member.SessionCalls, Is.GreaterThanOrEqualTo(5), "round-robin again");
        });
    }

    [Test]
    public void WhenEveryMemberIsDown_CallsStillTryThem_AndFailWithinIOTimeout()
    {
        var a = new Member(answers: false);
        var b = new Member(answers: false);
        using var pool = Pool(a, b);
        var gateway = new EtcdGateway(pool, TimeSpan.FromSeconds(1), NullLogger.Instance);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => gateway.GetAsync("app/s/key", CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Timeout));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)));
            Assert.That(a.SessionCalls + b.SessionCalls, Is.GreaterThanOrEqualTo(3), "attempts alternate between the members");
        });
    }

    private static EtcdEndpointPool Pool(params Member[] members) =>
        new([.. members.Select((m, i) => new EtcdEndpoint($"m{i}", m.Client, null))], ownsClients: false, TimeSpan.FromMilliseconds(300), ProbeKey, NullLogger.Instance);

    /// <summary>A member that answers Range at once, or hangs like a frozen process until the call's deadline.</summary>
    private sealed class Member
    {
        private int _sessionCalls;
        private int _probeCalls;

        public Member(bool answers)
        {
            Answers = answers;
            var client = new Mock<IEtcdClient>();
            client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
                .Returns(async (RangeRequest r, Metadata _, DateTime? _, CancellationToken ct) =>
                {
                    Interlocked.Increment(ref r.Key.ToStringUtf8() == ProbeKey ? ref _probeCalls : ref _sessionCalls);
                    if (!Answers)
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }

                    return new RangeResponse();
                });
            Client = client.Object;
        }

        public volatile bool Answers;

        public IEtcdClient Client { get; }

        public int SessionCalls => Volatile.Read(ref _sessionCalls);

        public int ProbeCalls => Volatile.Read(ref _probeCalls);
    }
}
