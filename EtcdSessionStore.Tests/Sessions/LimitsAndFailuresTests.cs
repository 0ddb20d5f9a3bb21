using System.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using dotnet_etcd.interfaces;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

public sealed class LimitsAndFailuresTests
{
    [Test]
    public async Task Flush_SessionOverTheSizeLimit_FailsBeforeSending_NamingSizeAndLimit()
    {
        using var store = TestStore.Create(o => o.MaxSessionBytes = 64 * 1024);
        var session = store.NewSession();
        session.Set("big", new byte[100 * 1024]);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.TooLarge));
            Assert.That(ex.Message, Does.Contain("65,536").And.Contain("MaxSessionBytes"));
            Assert.That((await EtcdFixture.Client.GetRangeAsync(store.Prefix)).Count, Is.Zero);
        });
        await Task.CompletedTask;
    }

    [Test]
    public void Set_KeyOverTheLimit_OrNotValidUnicode_IsRejected()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();

        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => session.SetString(new string('k', 2000), "v"))!.Message,
                Does.StartWith("The item key is 2000 bytes in UTF-8; the limit is 1024."), "an item key, not the secret session key");
            Assert.That(Assert.Throws<ArgumentException>(() => session.SetString("bad\ud800key", "v"))!.Message,
                Does.StartWith("The item key is not valid Unicode"));
        });
    }

    [Test]
    public async Task Load_WhenEtcdIsStopped_FailsClearlyWithinAboutIOTimeout()
    {
        var member = await EtcdMember.StartSingleAsync("stopped");
        using var store = TestStore.Create(o => o.IOTimeout = TimeSpan.FromSeconds(2), endpoints: member.ClientUrl);
        var session = await store.SeedAsync(("a", "1"));
        await member.DisposeAsync();

        var reopened = store.Store.CreateStrict(session.SessionKey);
        var watch = Stopwatch.StartNew();
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => reopened.LoadAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.AnyOf(EtcdSessionErrorKind.Unavailable, EtcdSessionErrorKind.Timeout));
            Assert.That(ex.InnerException, Is.Not.Null);
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)));
            Assert.That(reopened.IsAvailable, Is.False);
        });
    }

    [Test]
    public void Load_WhenCallerCancels_ThrowsOperationCanceled_NotATimeout()
    {
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns((RangeRequest _, Metadata _, DateTime? _, CancellationToken ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith<RangeResponse>(_ => throw new RpcException(new Status(StatusCode.Cancelled, "cancelled")), TaskScheduler.Default));
        var session = SessionOn(client.Object);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        Assert.That(async () => await session.LoadAsync(cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [TestCase(StatusCode.Unavailable, EtcdSessionErrorKind.Unavailable)]
    [TestCase(StatusCode.DeadlineExceeded, EtcdSessionErrorKind.Timeout)]
    [TestCase(StatusCode.PermissionDenied, EtcdSessionErrorKind.PermissionDenied)]
    [TestCase(StatusCode.Unauthenticated, EtcdSessionErrorKind.PermissionDenied)]
    [TestCase(StatusCode.Internal, EtcdSessionErrorKind.EtcdError)]
    public void Load_WhenEtcdFails_RaisesTheLibraryExceptionWithTheGrpcCauseInside(StatusCode status, EtcdSessionErrorKind expected)
    {
        var failure = new RpcException(new Status(status, "simulated"));
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(failure);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => SessionOn(client.Object).LoadAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(expected));
            Assert.That(ex.InnerException, Is.SameAs(failure));
        });
    }

    [Test]
    public async Task EveryEtcdCall_CarriesADeadline()
    {
        DateTime? seen = null;
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Callback((RangeRequest _, Metadata _, DateTime? deadline, CancellationToken _) => seen = deadline)
            .ReturnsAsync(new RangeResponse());

        var before = DateTime.UtcNow;
        await SessionOn(client.Object, TimeSpan.FromSeconds(3)).LoadAsync();

        // A first attempt gets a share of IOTimeout, so that a retry fits within it (see EtcdGateway).
        Assert.That(seen, Is.GreaterThan(before).And.LessThanOrEqualTo(before.AddSeconds(3)));
    }

    [Test]
    public async Task Flush_WhenTheSessionKeepsChanging_GivesUpWithAConflict_OnceIOTimeoutIsSpent()
    {
        var client = new Mock<IEtcdClient>();
        var revision = 10L;
        var stored = StoredValue();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => RangeOf(stored, revision));
        client.Setup(c => c.LeaseGrantAsync(It.IsAny<LeaseGrantRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new LeaseGrantResponse());
        // Every attempt loses to "another request": the guard fails and the read-back shows a newer revision.
        client.Setup(c => c.TransactionAsync(It.IsAny<TxnRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(() =>
            {
                var response = new TxnResponse { Succeeded = false };
                response.Responses.Add(new ResponseOp { ResponseRange = RangeOf(stored, ++revision) });
                return response;
            });
        var session = SessionOn(client.Object, ioTimeout: TimeSpan.FromSeconds(1));
        await session.LoadAsync();
        session.SetString("x", "1");

        var watch = Stopwatch.StartNew();
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Conflict));
            Assert.That(ex.Message, Does.Contain("IOTimeout"));
            // It stops once what is left of the second would not cover another attempt and its pause (at most 64 ms).
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(0.8)).And.LessThan(TimeSpan.FromSeconds(3)));
        });
        client.Verify(c => c.TransactionAsync(It.IsAny<TxnRequest>(), null, It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()), Times.AtLeast(6),
            "a time budget, not a handful of attempts");
    }

    private static EtcdSession SessionOn(IEtcdClient client, TimeSpan? ioTimeout = null)
    {
        var options = new EtcdSessionOptions { IOTimeout = ioTimeout ?? TimeSpan.FromSeconds(5) };
        var gateway = new EtcdGateway(client, options.IOTimeout, NullLogger.Instance);
        var codec = new SessionCodec(new SessionSerializerSet(new JsonSessionSerializer(), []), options.MaxSessionBytes);
        var backend = new SessionRepository(options, gateway, new ExpiryLeasePool(gateway, TimeProvider.System), codec, TimeProvider.System, NullLoggerFactory.Instance);
        return new EtcdSession(backend, "secret", options.IdleTimeout, () => true, isNewSessionKey: false, KeyPolicy.Strict);
    }

    private static Google.Protobuf.ByteString StoredValue()
    {
        var header = new Format.SessionHeader("id1", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(20), null, "JSON");
        return Google.Protobuf.ByteString.CopyFrom(Format.SessionEnvelope.Encode(header, new JsonSessionSerializer(), new Dictionary<string, byte[]>()));
    }

    private static RangeResponse RangeOf(Google.Protobuf.ByteString value, long revision)
    {
        var response = new RangeResponse();
        response.Kvs.Add(new Mvccpb.KeyValue { Value = value, ModRevision = revision, Lease = ExpiryLease.IdFor(DateTimeOffset.UtcNow.AddMinutes(20)) });
        return response;
    }
}
