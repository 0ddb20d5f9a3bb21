using dotnet_etcd.interfaces;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace Etcd.AspNetCore.Session.Tests.Storage;

/// <summary>How etcd's refusals reach the caller: each with the kind that says what to do about it.</summary>
public sealed class EtcdErrorTranslationTests
{
    [Test]
    public void DatabaseSpaceExceeded_IsNotReportedAsTooLarge_ButAsAnOutageWithWhatToDo()
    {
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.TransactionAsync(It.IsAny<TxnRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RpcException(new Status(StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded")));
        var gateway = new EtcdGateway(client.Object, TimeSpan.FromSeconds(1), NullLogger.Instance);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => gateway.TxnAsync(new TxnRequest(), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Unavailable));
            Assert.That(ex.Message, Does.Contain("NOSPACE").And.Contain("compact"));
        });
    }

    [Test]
    public void ARequestOverEtcdsSizeLimit_IsStillTooLarge()
    {
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.TransactionAsync(It.IsAny<TxnRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RpcException(new Status(StatusCode.ResourceExhausted, "trying to send message larger than max (2097152 vs. 1572864)")));
        var gateway = new EtcdGateway(client.Object, TimeSpan.FromSeconds(1), NullLogger.Instance);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => gateway.TxnAsync(new TxnRequest(), CancellationToken.None));

        Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.TooLarge));
    }
}
