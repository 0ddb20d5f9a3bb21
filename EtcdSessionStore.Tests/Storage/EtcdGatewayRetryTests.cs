using System.Diagnostics;
using dotnet_etcd.interfaces;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Moq;

namespace Etcd.AspNetCore.Session.Tests.Storage;

/// <summary>
/// Retries inside the IOTimeout budget, and ambiguous outcomes: a write that etcd applied but whose reply
/// was lost. The client relays to the real shared etcd; only the failures are simulated.
/// </summary>
public sealed class EtcdGatewayRetryTests
{
    private static readonly RpcException LostReply = new(new Status(StatusCode.DeadlineExceeded, "simulated: applied, reply lost"));

    [Test]
    public async Task Commit_WhenTheReplyOfAnAppliedCreateIsLost_RetriesAndSucceeds_WithTheDataStoredOnce()
    {
        var lost = 1;
        using var store = StoreOn(Relay(loseReplies: () => lost-- > 0));
        var session = store.NewSession();
        session.SetString("cart", "figs");

        await session.CommitAsync();

        var kvs = (await EtcdFixture.Client.GetRangeAsync(store.Prefix)).Kvs;
        Assert.Multiple(async () =>
        {
            Assert.That(kvs, Has.Count.EqualTo(1));
            Assert.That((await store.OpenAsync(session.SessionKey)).GetString("cart"), Is.EqualTo("figs"));
            Assert.That(session.HasChanges, Is.False);
        });
    }

    [Test]
    public async Task Commit_WhenTheReplyOfAnAppliedUpdateIsLost_KeepsItsOwnAndConcurrentChanges()
    {
        var lose = false;
        using var store = StoreOn(Relay(loseReplies: () => lose && !(lose = false)));
        var first = store.NewSession();
        first.SetString("a", "1");
        await first.CommitAsync();
        var mine = await store.OpenAsync(first.SessionKey);
        var theirs = await store.OpenAsync(first.SessionKey);
        theirs.SetString("b", "2");
        await theirs.CommitAsync();
        mine.SetString("c", "3");
        lose = true;

        await mine.CommitAsync();

        var final = await store.OpenAsync(first.SessionKey);
        Assert.That(final.Keys, Is.EquivalentTo(new[] { "a", "b", "c" }));
    }

    [Test]
    public async Task Rotate_WhenTheReplyIsLost_RecognisesItsOwnRotation()
    {
        var lose = false;
        using var store = StoreOn(Relay(loseReplies: () => lose && !(lose = false)));
        var session = store.NewSession();
        session.SetString("user", "ann");
        await session.CommitAsync();
        var oldSecret = session.SessionKey;
        var opened = await store.OpenAsync(oldSecret);
        lose = true;

        var newSecret = await opened.RegenerateIdAsync(CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(newSecret, Is.Not.EqualTo(oldSecret));
            Assert.That(opened.IsStored, Is.True);
            Assert.That(opened.GetString("user"), Is.EqualTo("ann"));
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(oldSecret))).Kvs, Is.Empty);
            Assert.That((await store.OpenAsync(newSecret)).GetString("user"), Is.EqualTo("ann"));
        });
    }

    [Test]
    public async Task Commit_WhenEveryReplyIsLost_ReportsATimeoutNeverSuccess_AndCommittingAgainCompletes()
    {
        var lose = true;
        using var store = StoreOn(Relay(loseReplies: () => lose), ioTimeout: TimeSpan.FromSeconds(1));
        var session = store.NewSession();
        session.SetString("a", "1");

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());
        Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Timeout));
        Assert.That(ex.Message, Does.Contain("may still have been applied"));

        // The write was in fact applied: what etcd holds is a whole, readable session, and committing again works.
        lose = false;
        session.SetString("b", "2");
        await session.CommitAsync();
        var final = await store.OpenAsync(session.SessionKey);
        Assert.That(final.Keys, Is.EquivalentTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task Read_StuckOnAFrozenMember_IsRetried_AndAnswersWithinIOTimeout()
    {
        var calls = 0;
        var client = Relay(loseReplies: () => false);
        var real = EtcdFixture.Client;
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns(async (RangeRequest r, Metadata h, DateTime? d, CancellationToken ct) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    await Task.Delay(Timeout.Infinite, ct); // a frozen member: nothing until the deadline
                }

                return await real.GetAsync(r, h, d, ct);
            });
        using var store = StoreOn(client, ioTimeout: TimeSpan.FromSeconds(2));

        var watch = Stopwatch.StartNew();
        await store.Store.CreateStrict("client-key").LoadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(calls, Is.EqualTo(3), "the stalled Range, its retry, and (the key names nothing) the look-up of its moved marker");
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)));
        });
    }

    [Test]
    public void Refusals_AreNotRetried()
    {
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RpcException(new Status(StatusCode.PermissionDenied, "etcdserver: permission denied")));
        using var store = StoreOn(client);

        Assert.ThrowsAsync<EtcdSessionException>(() => store.Store.CreateStrict("client-key").LoadAsync());

        client.Verify(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task ClientFactory_SuppliesTheClient_AndTheStoreNeverDisposesIt()
    {
        var client = Relay(loseReplies: () => false);
        var store = StoreOn(client);
        var session = store.NewSession();
        session.SetString("a", "1");
        await session.CommitAsync();

        store.Dispose();

        client.Verify(c => c.Dispose(), Times.Never);
        Assert.That((await EtcdFixture.Client.GetRangeAsync(store.Prefix)).Kvs, Has.Count.EqualTo(1));
    }

    private static TestStore StoreOn(Mock<IEtcdClient> client, TimeSpan? ioTimeout = null) => TestStore.Create(o =>
    {
        o.ClientFactory = _ => client.Object;
        o.IOTimeout = ioTimeout ?? TimeSpan.FromSeconds(5);
    });

    /// <summary>A client that relays to the shared etcd; a transaction is applied and then its reply dropped while <paramref name="loseReplies"/> says so.</summary>
    private static Mock<IEtcdClient> Relay(Func<bool> loseReplies)
    {
        var real = EtcdFixture.Client;
        var client = new Mock<IEtcdClient>();
        client.Setup(c => c.GetAsync(It.IsAny<RangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns((RangeRequest r, Metadata h, DateTime? d, CancellationToken ct) => real.GetAsync(r, h, d, ct));
        client.Setup(c => c.LeaseGrantAsync(It.IsAny<LeaseGrantRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns((LeaseGrantRequest r, Metadata h, DateTime? d, CancellationToken ct) => real.LeaseGrantAsync(r, h, d, ct));
        client.Setup(c => c.DeleteAsync(It.IsAny<DeleteRangeRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns((DeleteRangeRequest r, Metadata h, DateTime? d, CancellationToken ct) => real.DeleteAsync(r, h, d, ct));
        client.Setup(c => c.TransactionAsync(It.IsAny<TxnRequest>(), It.IsAny<Metadata>(), It.IsAny<DateTime?>(), It.IsAny<CancellationToken>()))
            .Returns(async (TxnRequest r, Metadata h, DateTime? d, CancellationToken ct) =>
            {
                var response = await real.TransactionAsync(r, h, d, ct);
                return loseReplies() ? throw LostReply : response;
            });
        return client;
    }
}
