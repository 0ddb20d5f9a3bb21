using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
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
        using var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = Grpc.Core.ChannelCredentials.Insecure);
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
            Assert.That(ttl.TTL, Is.InRange(290, 302), "the last slot's lease was granted in etcd");
        });
    }
}
