using System.Diagnostics;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Reliability;

/// <summary>
/// A real 3-member cluster per test, the store configured with all three endpoints, sessions written
/// concurrently while a member is killed or frozen. Numbers go to the test output.
/// </summary>
[NonParallelizable]
public sealed class ClusterFailoverTests
{
    private static readonly TimeSpan IOTimeout = TimeSpan.FromSeconds(2);

    [Test]
    public async Task LeaderKilled_UnderLoad_RequestsContinue_AndNoAcknowledgedWriteIsLost()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var store = TestStore.Create(o => o.IOTimeout = IOTimeout, endpoints: cluster.Endpoints);
        var load = new SessionLoad();
        using var stop = new CancellationTokenSource();

        var running = load.RunAsync(workers: 16, (secret, key, value, ct) => WriteAsync(store, secret, key, value, ct), stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var leader = await cluster.LeaderAsync();
        var killedAt = load.Now;
        await leader.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var okBeforeStop = load.Operations - load.Errors;
        await stop.CancelAsync();
        await running;

        var lost = await LostWritesAsync(store, load);
        await TestContext.Out.WriteLineAsync($"Leader {leader.Name} killed at {killedAt:0.0} s. {load.Report()}. Lost acknowledged writes: {lost.Count} of {load.Acknowledged.Count}.");
        Assert.Multiple(() =>
        {
            Assert.That(lost, Is.Empty, "acknowledged writes that cannot be read back");
            Assert.That(load.OkPerSecond.Where(p => p.Key > killedAt + 2).Sum(p => p.Value), Is.GreaterThan(0), "requests after the election");
            Assert.That(load.Longest, Is.LessThan(2 * IOTimeout + TimeSpan.FromSeconds(1)), "a request = a lease grant and a txn at most, each within IOTimeout");
            Assert.That(load.Errors, Is.LessThan(Math.Max(16, load.Operations / 20)), "errors stay a handful around the election");
            Assert.That(okBeforeStop, Is.GreaterThan(100));
        });
    }

    [TestCase(false, TestName = "FollowerFrozen_NothingHangsPastTheDeadline_AndReadsAndWritesGoOn")]
    [TestCase(true, TestName = "LeaderFrozen_NothingHangsPastTheDeadline_AndReadsAndWritesGoOn")]
    public async Task MemberFrozen(bool freezeLeader)
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var store = TestStore.Create(o => o.IOTimeout = IOTimeout, endpoints: cluster.Endpoints);
        var load = new SessionLoad();
        using var stop = new CancellationTokenSource();
        var leader = await cluster.LeaderAsync();
        var follower = freezeLeader ? leader : cluster.Members.First(m => m != leader);

        var running = load.RunAsync(workers: 8, (secret, key, value, ct) => WriteAsync(store, secret, key, value, ct), stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var frozenAt = load.Now;
        follower.Freeze();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            var reads = await TimedReadsAsync(store, load, count: 30);
            await stop.CancelAsync();
            await running;

            await TestContext.Out.WriteLineAsync($"{(freezeLeader ? "Leader" : "Follower")} {follower.Name} frozen at {frozenAt:0.0} s. Writes: {load.Report()}. Reads: {reads.Failed} failed of 30, longest {reads.Longest.TotalMilliseconds:0} ms.");
            Assert.Multiple(() =>
            {
                Assert.That(reads.Longest, Is.LessThan(IOTimeout + TimeSpan.FromSeconds(0.5)), "a read never waits past IOTimeout");
                Assert.That(reads.Failed, Is.LessThanOrEqualTo(1));
                Assert.That(load.Longest, Is.LessThan(2 * IOTimeout + TimeSpan.FromSeconds(1)));
                Assert.That(load.OkPerSecond.Where(p => p.Key >= frozenAt + 1).Sum(p => p.Value), Is.GreaterThan(50), "writes go on");
                Assert.That(load.Errors, Is.LessThan(Math.Max(8, load.Operations / 20)));
            });
        }
        finally
        {
            follower.Thaw();
        }

        Assert.That(await LostWritesAsync(store, load), Is.Empty);
    }

    [Test]
    public async Task AllOfEtcdDown_FailsWithinIOTimeout_ThenRecoversByItself_WithEarlierSessionsIntact()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var store = TestStore.Create(o => o.IOTimeout = IOTimeout, endpoints: cluster.Endpoints);
        var before = await WriteAsync(store, null, "a", "1", CancellationToken.None);

        foreach (var member in cluster.Members)
        {
            await member.KillAsync();
        }

        var watch = Stopwatch.StartNew();
        var down = Assert.ThrowsAsync<EtcdSessionException>(() => store.Store.CreateStrict(before).LoadAsync());
        var downFor = watch.Elapsed;
        Assert.That(down!.Kind, Is.AnyOf(EtcdSessionErrorKind.Unavailable, EtcdSessionErrorKind.Timeout));
        Assert.That(downFor, Is.LessThan(IOTimeout + TimeSpan.FromSeconds(1)));

        await Task.WhenAll(cluster.Members.Select(m => m.StartAsync(waitUntilReady: false)));
        await Task.WhenAll(cluster.Members.Select(m => m.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30))));
        var recovered = await RetryUntilAsync(() => store.OpenAsync(before), TimeSpan.FromSeconds(10));
        var after = await WriteAsync(store, null, "b", "2", CancellationToken.None);

        await TestContext.Out.WriteLineAsync($"All members down: a load failed after {downFor.TotalMilliseconds:0} ms ({down.Kind}); after restart the same store read and wrote again.");
        Assert.Multiple(async () =>
        {
            Assert.That(recovered.GetString("a"), Is.EqualTo("1"));
            Assert.That((await store.OpenAsync(after)).GetString("b"), Is.EqualTo("2"));
        });
    }

    /// <summary>One request's worth of work: load (unless new), add an item, commit.</summary>
    internal static async Task<string> WriteAsync(TestStore store, string? secret, string key, string value, CancellationToken cancellationToken)
    {
        var session = store.Store.CreateStrict(secret);
        await session.LoadAsync(cancellationToken);
        if (secret is not null && session.SessionKey != secret)
        {
            throw new InvalidOperationException("An acknowledged session was not found.");
        }

        session.SetString(key, value);
        await session.CommitAsync(cancellationToken);
        return session.SessionKey;
    }

    /// <summary>Acknowledged items that cannot be read back as written.</summary>
    internal static async Task<List<string>> LostWritesAsync(TestStore store, SessionLoad load)
    {
        var lost = new List<string>();
        foreach (var group in load.Acknowledged.GroupBy(a => a.Secret))
        {
            var session = await RetryUntilAsync(() => store.OpenAsync(group.Key), TimeSpan.FromSeconds(10));
            lost.AddRange(group.Where(a => session.GetString(a.Key) != a.Value).Select(a => a.Key));
        }

        return lost;
    }

    private static async Task<(int Failed, TimeSpan Longest)> TimedReadsAsync(TestStore store, SessionLoad load, int count)
    {
        var secrets = load.Acknowledged.Select(a => a.Secret).Distinct().Take(count).ToList();
        var failed = 0;
        var longest = TimeSpan.Zero;
        foreach (var secret in secrets)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await store.OpenAsync(secret);
            }
            catch (EtcdSessionException)
            {
                failed++;
            }

            longest = watch.Elapsed > longest ? watch.Elapsed : longest;
        }

        return (failed + count - secrets.Count, longest);
    }

    private static Task<T> RetryUntilAsync<T>(Func<Task<T>> action, TimeSpan within) =>
        Eventually.SucceedsAsync<T, EtcdSessionException>(action, within, TimeSpan.FromMilliseconds(200));
}
