using dotnet_etcd.interfaces;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace Etcd.AspNetCore.Session.Tests.Storage;

/// <summary>A retry that starts after the IOTimeout budget is spent ends as a timeout, not as an argument error.</summary>
public sealed class EtcdGatewayBudgetTests
{
    [Test]
    public void ARetry_AfterTheBudgetIsSpent_ReportsATimeout()
    {
        // A member that answers late (past the whole budget, ignoring the deadline) that its auth token expired:
        // the gateway renews the token and tries again with nothing left of the budget.
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns(async () =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(400), CancellationToken.None);
                throw new RpcException(new Status(StatusCode.Unauthenticated, "etcdserver: invalid auth token"));
            });
        var endpoint = new EtcdEndpoint("http://127.0.0.1:2379", client.Object, renewAuthToken: () => { });
        using var pool = new EtcdEndpointPool([endpoint], ownsClients: false, TimeSpan.FromSeconds(1), "probe", NullLogger.Instance);
        var gateway = new EtcdGateway(pool, TimeSpan.FromMilliseconds(300), NullLogger.Instance);

        var failure = Assert.ThrowsAsync<EtcdSessionException>(() => gateway.GetAsync("key", CancellationToken.None));

        Assert.That(failure!.Kind, Is.EqualTo(EtcdSessionErrorKind.Timeout));
    }
}
