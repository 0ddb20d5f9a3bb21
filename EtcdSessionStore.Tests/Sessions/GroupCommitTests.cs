using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging.Abstractions;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>Writes of different sessions that wait at the same moment share one etcd transaction, and a failed guard costs only its own write.</summary>
public sealed class GroupCommitTests
{
    [Test]
    public async Task WritesThatQueueBehindATransaction_GoTogetherInTheNextOne()
    {
        var (group, calls, hold) = Create();
        var prefix = EtcdFixture.UniquePrefix(nameof(GroupCommitTests));
        hold.HoldNext(); // the first write stays in flight until released
        var first = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "first", ByteString.CopyFromUtf8("1"), 0), Deadline());
        await hold.Held;
        var queued = Enumerable.Range(0, 16).Select(i => group.WriteGroupedAsync(SessionTransactions.Create(prefix + i, ByteString.CopyFromUtf8("v"), 0), Deadline())).ToArray();
        hold.Release();

        var outcomes = await Task.WhenAll(queued.Append(first));
        var stored = await EtcdFixture.Client.GetRangeAsync(prefix);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.All(o => o.Succeeded), Is.True);
            Assert.That(calls.Txns, Is.EqualTo(2), "the first alone, then the 16 that queued behind it in one transaction");
            Assert.That(stored.Count, Is.EqualTo(17));
            Assert.That(queued.Select(q => q.Result.Header.Revision).Distinct().Count(), Is.EqualTo(1), "one revision: one raft entry");
        });
    }

    [Test]
    public async Task AWriteWhoseGuardFails_GoesBackToItsWriterWithTheCurrentValue_AndTheOthersOfItsBatchAreStored()
    {
        var (group, calls, hold) = Create();
        var prefix = EtcdFixture.UniquePrefix(nameof(GroupCommitTests));
        var existing = await EtcdFixture.Client.PutAsync(new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(prefix + "taken"), Value = ByteString.CopyFromUtf8("theirs") });
        hold.HoldNext();
        var first = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "first", ByteString.CopyFromUtf8("1"), 0), Deadline());
        await hold.Held;
        var fine = Enumerable.Range(0, 4).Select(i => group.WriteGroupedAsync(SessionTransactions.Create(prefix + "ok" + i, ByteString.CopyFromUtf8("v"), 0), Deadline())).ToArray();
        var clash = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "taken", ByteString.CopyFromUtf8("mine"), 0), Deadline()); // create-if-absent: fails
        hold.Release();

        await first;
        var results = await Task.WhenAll(fine);
        var failed = await clash;

        Assert.Multiple(() =>
        {
            Assert.That(results.All(r => r.Succeeded), Is.True, "the writes whose guards held were sent again at once");
            Assert.That(failed.Succeeded, Is.False);
            Assert.That(SessionTransactions.ReadBack(failed)?.Value.ToStringUtf8(), Is.EqualTo("theirs"));
            Assert.That(SessionTransactions.ReadBack(failed)?.ModRevision, Is.EqualTo(existing.Header.Revision));
            Assert.That(calls.Txns, Is.EqualTo(3), "first; the batch of five that failed on one guard; the four again");
        });
    }

    [Test]
    public async Task ABatchThatFailsThoughEveryGuardHeld_IsNotSentAgain_EachWriteGoesBackToItsWriter()
    {
        var (group, calls, hold) = Create();
        var prefix = EtcdFixture.UniquePrefix(nameof(GroupCommitTests));
        hold.HoldNext();
        var first = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "first", ByteString.CopyFromUtf8("1"), 0), Deadline());
        await hold.Held;
        // A guard the group cannot judge right: "mod_revision != 0" on an absent key fails in etcd, while the group reads
        // it as "== 0", which holds. Sending such a batch again would fail again, and again.
        var writes = Enumerable.Range(0, 2).Select(i => group.WriteGroupedAsync(MisjudgedGuard(SessionTransactions.Create(prefix + i, ByteString.CopyFromUtf8("v"), 0)), Deadline())).ToArray();
        hold.Release();

        await first;
        var outcomes = await Task.WhenAll(writes);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.All(o => !o.Succeeded), Is.True, "each writer is told its write was not applied");
            Assert.That(calls.Txns, Is.EqualTo(2), "first; the batch of two, once: with no write gone from it, sending it again would change nothing");
        });

        static Etcdserverpb.TxnRequest MisjudgedGuard(Etcdserverpb.TxnRequest txn)
        {
            txn.Compare.Add(new Etcdserverpb.Compare
            {
                Key = txn.Compare[0].Key,
                Target = Etcdserverpb.Compare.Types.CompareTarget.Mod,
                Result = Etcdserverpb.Compare.Types.CompareResult.NotEqual,
                ModRevision = 0,
            });
            return txn;
        }
    }

    [Test]
    public async Task TwoWritesThatTouchOneKey_NeverShareATransaction_SoTheUnrelatedWritesOfTheBatchAreStored()
    {
        var (group, calls, hold) = Create();
        var prefix = EtcdFixture.UniquePrefix(nameof(GroupCommitTests));
        hold.HoldNext();
        var first = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "first", ByteString.CopyFromUtf8("1"), 0), Deadline());
        await hold.Held;
        // A rotated, signed-in session's old-key and new-key writes both put the user's index entry.
        var oldKey = WithIndex(SessionTransactions.Create(prefix + "old", ByteString.CopyFromUtf8("o"), 0), prefix + "user/index");
        var newKey = WithIndex(SessionTransactions.Create(prefix + "new", ByteString.CopyFromUtf8("n"), 0), prefix + "user/index");
        var overlapping = new[] { group.WriteGroupedAsync(oldKey, Deadline()), group.WriteGroupedAsync(newKey, Deadline()) };
        var unrelated = Enumerable.Range(0, 8).Select(i => group.WriteGroupedAsync(SessionTransactions.Create(prefix + "other" + i, ByteString.CopyFromUtf8("v"), 0), Deadline())).ToArray();
        hold.Release();

        await first;
        var outcomes = await Task.WhenAll(unrelated);
        var both = await Task.WhenAll(overlapping);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.All(o => o.Succeeded), Is.True, "no write fails for another's overlap");
            Assert.That(both.All(o => o.Succeeded), Is.True, "the second of the two went in the next transaction");
            Assert.That(both[0].Header.Revision, Is.Not.EqualTo(both[1].Header.Revision));
        });
    }

    [Test]
    public async Task ACombinedTransactionThatFails_ReadsBackLargeSessions_WithinTheClientsReceiveLimit()
    {
        var (group, _, hold) = Create();
        var prefix = EtcdFixture.UniquePrefix(nameof(GroupCommitTests));
        const int Sessions = 48;
        var large = ByteString.CopyFrom(new byte[100 * 1024]); // 48 x 100 KiB read back: more than gRPC's 4 MiB
        var stored = new List<long>();
        for (var i = 0; i < Sessions; i++)
        {
            stored.Add((await EtcdFixture.Client.PutAsync(new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(prefix + i), Value = large })).Header.Revision);
        }

        hold.HoldNext();
        var first = group.WriteGroupedAsync(SessionTransactions.Create(prefix + "first", ByteString.CopyFromUtf8("1"), 0), Deadline());
        await hold.Held;
        // Small writes guarded on a revision each session has moved past: every guard fails and every key is read back.
        var stale = Enumerable.Range(0, Sessions)
            .Select(i => group.WriteGroupedAsync(SessionTransactions.Update(prefix + i, stored[i] - 1, ByteString.CopyFromUtf8("small"), 0), Deadline())).ToArray();
        hold.Release();

        await first;
        var outcomes = await Task.WhenAll(stale);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.All(o => !o.Succeeded), Is.True);
            Assert.That(outcomes.Select(o => SessionTransactions.ReadBack(o)?.Value.Length), Is.All.EqualTo(large.Length), "each writer gets its session's current value to merge");
            Assert.That(outcomes.Select((o, i) => SessionTransactions.ReadBack(o)?.ModRevision == stored[i]), Is.All.True);
        });
    }

    private static RetryBudget Deadline() => RetryBudget.Start(TimeSpan.FromSeconds(30));

    private static Etcdserverpb.TxnRequest WithIndex(Etcdserverpb.TxnRequest txn, string indexKey)
    {
        txn.Success.Add(new Etcdserverpb.RequestOp { RequestPut = new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(indexKey), Value = ByteString.CopyFromUtf8("entry") } });
        return txn;
    }

    private static (SessionRepository Group, HoldingInterceptor Calls, HoldingInterceptor Hold) Create()
    {
        var hold = new HoldingInterceptor();
        var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [hold]);
        var gateway = new EtcdGateway(client, TimeSpan.FromSeconds(5), NullLogger.Instance);
        var options = new EtcdSessionOptions();
        var codec = new SessionCodec(new SessionSerializerSet(new JsonSessionSerializer(), []), options.MaxSessionBytes);
        return (new SessionRepository(options, gateway, new ExpiryLeasePool(gateway, TimeProvider.System), codec, TimeProvider.System, NullLoggerFactory.Instance), hold, hold);
    }

    /// <summary>Counts Txn calls, and holds the reply of the next one until <see cref="Release"/>: a transaction in flight.</summary>
    private sealed class HoldingInterceptor : Interceptor
    {
        private TaskCompletionSource? _next;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _txns;

        public int Txns => Volatile.Read(ref _txns);

        public Task Held => _held.Task;

        public void HoldNext() => _next = _release;

        public void Release() => _release.TrySetResult();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (context.Method.Name != "Txn")
            {
                return continuation(request, context);
            }

            Interlocked.Increment(ref _txns);
            var call = continuation(request, context);
            if (Interlocked.Exchange(ref _next, null) is not { } release)
            {
                return call;
            }

            _held.TrySetResult();
            return new AsyncUnaryCall<TResponse>(AfterAsync(call.ResponseAsync, release.Task), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private static async Task<T> AfterAsync<T>(Task<T> reply, Task release)
        {
            await release;
            return await reply;
        }
    }
}
