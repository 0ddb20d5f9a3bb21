using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Expiry;

public sealed class ExpiryLeaseTests
{
    [Test]
    public void LeaseId_EncodesTheExpirySecond_WhateverTheSlot()
    {
        var expiry = DateTimeOffset.FromUnixTimeSeconds(1_900_000_000);

        Assert.Multiple(() =>
        {
            Assert.That(ExpiryLease.ExpiryOf(ExpiryLease.IdFor(expiry)), Is.EqualTo(expiry));
            Assert.That(ExpiryLease.ExpiryOf(ExpiryLease.IdFor(expiry, ExpiryLease.MaxSlot)), Is.EqualTo(expiry));
            Assert.That(ExpiryLease.IdFor(expiry, 1), Is.Not.EqualTo(ExpiryLease.IdFor(expiry, 0)));
            Assert.That(ExpiryLease.ExpiryOf(7_587_654_321), Is.Null, "a lease etcd generated is not ours");
            Assert.That(ExpiryLease.ExpiryOf(ExpiryLease.IdFor(expiry.AddMilliseconds(1))), Is.EqualTo(expiry.AddSeconds(1)), "rounded up");
        });
    }

    [Test]
    public async Task Pool_PutsAtMostKeysPerLeaseWritesOnOneLease_ThenMovesToTheNextSlot()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        var gateway = new EtcdGateway(client, TimeSpan.FromSeconds(5), NullLogger.Instance);
        var pool = new ExpiryLeasePool(gateway, time);
        var expiry = time.GetUtcNow().AddMinutes(5);

        var ids = new List<long>();
        for (var i = 0; i < ExpiryLeasePool.KeysPerLease * 2 + 1; i++)
        {
            ids.Add(await pool.AcquireAsync(expiry, CancellationToken.None));
        }

        var leases = ids.GroupBy(id => id).Select(g => g.Count()).ToArray();
        var ttl = await EtcdFixture.Client.LeaseTimeToLiveAsync(new Etcdserverpb.LeaseTimeToLiveRequest { ID = ids[^1] });
        Assert.Multiple(() =>
        {
            Assert.That(leases, Is.EqualTo(new[] { ExpiryLeasePool.KeysPerLease, ExpiryLeasePool.KeysPerLease, 1 }));
            Assert.That(ids.Select(ExpiryLease.ExpiryOf).Distinct(), Has.Exactly(1).Items);
            Assert.That(ttl.TTL, Is.InRange(290, 306), "the last slot's lease was granted in etcd (its bucket ends up to 4 s later)");
        });
    }

    [Test]
    public async Task Pool_FedLifetimesFromSecondsTo15Days_KeepsTheLeasesAliveAtOnceBounded_AndNoneEndsBeforeItsDeadline()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var etcd = new GrantRecorder(time);
        using var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [etcd]);
        var pool = new ExpiryLeasePool(new EtcdGateway(client, TimeSpan.FromSeconds(5), NullLogger.Instance), time);
        TimeSpan[] lifetimes =
        [
            TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(20), TimeSpan.FromHours(2),
            TimeSpan.FromDays(1), TimeSpan.FromDays(7), TimeSpan.FromDays(14), TimeSpan.FromDays(15),
        ];
        var random = new Random(7);
        var mostAlive = 0;
        var early = new List<string>();

        // 16 simulated days, a burst of writes every 7 minutes (and a few seconds), each lifetime jittered.
        for (var step = 0; step < 16 * 24 * 60 / 7 && mostAlive <= 3_000; step++)
        {
            time.Advance(TimeSpan.FromMinutes(7) + TimeSpan.FromMilliseconds(random.Next(0, 5_000)));
            foreach (var lifetime in lifetimes)
            {
                for (var i = 0; i < 4; i++)
                {
                    var deadline = time.GetUtcNow() + lifetime + TimeSpan.FromMilliseconds(random.Next(0, 60_000));
                    var id = await pool.AcquireAsync(deadline, CancellationToken.None);
                    if (etcd.EndOf(id) < deadline || ExpiryLease.ExpiryOf(id) < deadline)
                    {
                        early.Add($"{lifetime}: lease {ExpiryLease.ExpiryOf(id):O} ends at {etcd.EndOf(id):O}, deadline {deadline:O}");
                    }
                }
            }

            mostAlive = Math.Max(mostAlive, etcd.AliveAt(time.GetUtcNow()));
        }

        Assert.Multiple(() =>
        {
            Assert.That(mostAlive, Is.LessThanOrEqualTo(3_000), "leases alive in etcd at once");
            Assert.That(early, Is.Empty, "a lease must never end before the deadline it was asked for");
        });
    }

    [Test]
    public async Task KeysOnBucketedLeases_StayUntilTheirDeadline_AndVanishAfterIt()
    {
        using var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        // One bucket per doubling: a lease 7 s away ends on a multiple of 4 s, so that buckets show within seconds.
        var pool = new ExpiryLeasePool(new EtcdGateway(client, TimeSpan.FromSeconds(5), NullLogger.Instance), TimeProvider.System, bucketsPerDoubling: 1);
        var prefix = EtcdFixture.UniquePrefix(nameof(ExpiryLeaseTests));
        var deadlines = new[] { 3, 5, 7 }.Select(s => DateTimeOffset.UtcNow.AddSeconds(s).AddMilliseconds(1)).ToArray();
        var ids = new long[deadlines.Length];
        for (var i = 0; i < deadlines.Length; i++)
        {
            ids[i] = await pool.AcquireAsync(deadlines[i], CancellationToken.None);
            await EtcdFixture.Client.PutAsync(new Etcdserverpb.PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(prefix + i), Lease = ids[i] });
        }

        var gone = new DateTimeOffset?[deadlines.Length];
        await Eventually.TrueAsync(async () =>
        {
            for (var i = 0; i < deadlines.Length; i++)
            {
                if (gone[i] is null && (await EtcdFixture.Client.GetAsync(prefix + i)).Count == 0)
                {
                    gone[i] = DateTimeOffset.UtcNow;
                }
            }

            return gone.All(g => g is not null);
        }, TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(ids.Select(id => ExpiryLease.ExpiryOf(id)!.Value.ToUnixTimeSeconds() % 4), Has.Some.EqualTo(0), "the far lease is bucketed");
            for (var i = 0; i < deadlines.Length; i++)
            {
                Assert.That(ExpiryLease.ExpiryOf(ids[i]), Is.GreaterThanOrEqualTo(deadlines[i]));
                Assert.That(gone[i], Is.Not.Null, $"key {i} outlived its bucket");
                Assert.That(gone[i], Is.GreaterThanOrEqualTo(deadlines[i]), $"key {i} vanished before its deadline");
            }
        });
    }

    /// <summary>
    /// Answers lease grants itself and records when each lease would end (by the fake clock): thousands of 15-day leases
    /// must not pile up in the shared etcd. Every other call goes to etcd.
    /// </summary>
    private sealed class GrantRecorder(TimeProvider time) : Interceptor
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, DateTimeOffset> _ends = new();

        public DateTimeOffset? EndOf(long id) => _ends.TryGetValue(id, out var end) ? end : null;

        public int AliveAt(DateTimeOffset now) => _ends.Values.Count(end => end > now);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (request is not Etcdserverpb.LeaseGrantRequest grant)
            {
                return continuation(request, context);
            }

            _ends[grant.ID] = time.GetUtcNow().AddSeconds(grant.TTL);
            var response = (TResponse)(object)new Etcdserverpb.LeaseGrantResponse { ID = grant.ID, TTL = grant.TTL };
            return new AsyncUnaryCall<TResponse>(Task.FromResult(response), Task.FromResult(new Metadata()),
                () => Status.DefaultSuccess, () => [], () => { });
        }
    }
}
