using System.Threading.Channels;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Events;

public sealed class SessionEventsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Test]
    public async Task ASecondInstance_SeesCreatedChangedRotatedAndDestroyed_InOrder()
    {
        using var app = TestStore.Create();
        using var other = TestStore.Create(o => o.KeyPrefix = app.Prefix);
        using var cts = new CancellationTokenSource(Patience);
        await using var events = await EventCollector.StartAsync(other, cts.Token);

        var session = app.NewSession();
        session.SetString("cart", "apples");
        await session.CommitAsync();
        var loaded = await app.OpenAsync(session.SessionKey);
        loaded.SetString("cart", "pears");
        await loaded.CommitAsync();
        await loaded.BindUserAsync("alice");
        await loaded.DestroyAsync();

        var seen = await events.TakeAsync(4, cts.Token);
        Assert.Multiple(() =>
        {
            Assert.That(seen.Select(e => e.Kind), Is.EqualTo(new[]
            {
                EtcdSessionEventKind.Created, EtcdSessionEventKind.Changed, EtcdSessionEventKind.Rotated, EtcdSessionEventKind.Destroyed,
            }));
            Assert.That(seen.Select(e => e.SessionId).Distinct(), Is.EqualTo(new[] { session.Id }));
            Assert.That(seen[2].UserName, Is.EqualTo("alice"));
            Assert.That(seen.Select(e => e.Revision), Is.Ordered.Ascending);
        });
    }

    [Test]
    public async Task AStoredValueWithATimeOutOfRange_DoesNotBreakTheStream()
    {
        using var app = TestStore.Create();
        using var cts = new CancellationTokenSource(Patience);
        await using var events = await EventCollector.StartAsync(app, cts.Token);

        await EtcdFixture.Client.PutAsync(app.Prefix + "s/out-of-range",
            "{\"v\":1,\"id\":\"x\",\"created\":9223372036854775807,\"idle\":9223372036854775807,\"abs\":null,\"ser\":\"JSON\"}\n{}");
        var session = app.NewSession();
        session.SetString("cart", "apples");
        await session.CommitAsync();

        var seen = await events.TakeAsync(2, cts.Token);
        Assert.That(seen.Select(e => e.SessionId), Has.Member(session.Id));
    }

    [Test]
    public async Task ASessionThatRunsOutOfTime_IsReportedAsExpired_NotDestroyed()
    {
        using var app = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromSeconds(2));
        using var cts = new CancellationTokenSource(Patience);
        await using var events = await EventCollector.StartAsync(app, cts.Token);

        var session = app.NewSession();
        session.SetString("cart", "apples");
        await session.CommitAsync();

        var seen = await events.TakeAsync(2, cts.Token);
        Assert.That(seen.Select(e => e.Kind), Is.EqualTo(new[] { EtcdSessionEventKind.Created, EtcdSessionEventKind.Expired }));
        Assert.That(seen[1].SessionId, Is.EqualTo(session.Id));
    }

    [Test]
    public async Task ATouchThatOnlyExtendsTheExpiry_IsNotReported()
    {
        using var app = TestStore.Create(o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(30);
            o.RefreshInterval = TimeSpan.FromSeconds(1);
        });
        using var cts = new CancellationTokenSource(Patience);
        await using var events = await EventCollector.StartAsync(app, cts.Token);
        var session = app.NewSession();
        session.SetString("cart", "apples");
        await session.CommitAsync();
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var reader = await app.OpenAsync(session.SessionKey);
        await reader.CommitAsync(); // a touch
        await reader.DestroyAsync();

        var seen = await events.TakeAsync(2, cts.Token);
        Assert.That(seen.Select(e => e.Kind), Is.EqualTo(new[] { EtcdSessionEventKind.Created, EtcdSessionEventKind.Destroyed }));
    }

    [Test]
    public async Task AWatchWhoseHistoryWasCompacted_ReportsResynced_ThenCarriesOn()
    {
        // Compaction would disturb tests that read old revisions of the shared etcd: use a member of our own.
        await using var member = await EtcdMember.StartSingleAsync("events-compaction");
        using var raw = EtcdTestClient.Create(member.ClientUrl);
        using var app = TestStore.Create(endpoints: member.ClientUrl);
        var stale = (await raw.GetAsync("any")).Header.Revision + 1;
        for (var i = 0; i < 3; i++)
        {
            await Users.SessionsByUserTests.StoredSessionAsync(app);
        }

        var current = (await raw.GetAsync("any")).Header.Revision;
        await raw.CompactAsync(new CompactionRequest { Revision = current, Physical = true });
        using var cts = new CancellationTokenSource(Patience);
        await using var events = await EventCollector.StartAsync(app, cts.Token, stale);

        var first = await events.TakeAsync(1, cts.Token);
        var session = app.NewSession();
        session.SetString("after", "resync");
        await session.CommitAsync();
        var next = await events.TakeAsync(1, cts.Token);

        Assert.That(first.Single().Kind, Is.EqualTo(EtcdSessionEventKind.Resynced));
        Assert.That(next.Single().Kind, Is.EqualTo(EtcdSessionEventKind.Created));
        Assert.That(next.Single().SessionId, Is.EqualTo(session.Id));
    }

    [Test]
    public async Task AfterEtcdRestarts_TheWatchResumes_AndReportsLaterChanges()
    {
        await using var member = await EtcdMember.StartSingleAsync("events-restart");
        using var app = TestStore.Create(endpoints: member.ClientUrl);
        using var watcher = TestStore.Create(o => o.KeyPrefix = app.Prefix, endpoints: member.ClientUrl);
        using var raw = EtcdTestClient.Create(member.ClientUrl);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var from = (await raw.GetAsync("any")).Header.Revision + 1;
        await using var events = await EventCollector.StartAsync(watcher, cts.Token, from);
        await Users.SessionsByUserTests.StoredSessionAsync(app);
        Assert.That((await events.TakeAsync(1, cts.Token)).Single().Kind, Is.EqualTo(EtcdSessionEventKind.Created));

        await member.KillAsync();
        await member.StartAsync();
        var afterSession = app.NewSession();
        afterSession.SetString("after", "restart");
        await afterSession.CommitAsync();

        var seen = await events.TakeAsync(1, cts.Token);
        Assert.That(seen.Single().SessionId, Is.EqualTo(afterSession.Id));
    }

    /// <summary>Enumerates a watch in the background, from a revision fixed before the test writes anything.</summary>
    private sealed class EventCollector : IAsyncDisposable
    {
        private readonly Channel<EtcdSessionEvent> _events = Channel.CreateUnbounded<EtcdSessionEvent>();
        private readonly CancellationTokenSource _stop;
        private readonly Task _pump;

        private EventCollector(EtcdSessionEvents source, long startRevision, CancellationToken cancellationToken)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _pump = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in source.WatchFromAsync(startRevision, _stop.Token))
                    {
                        await _events.Writer.WriteAsync(e);
                    }
                }
                catch (OperationCanceledException)
                {
                    // stopped by the test
                }
                finally
                {
                    _events.Writer.TryComplete();
                }
            });
        }

        public static async Task<EventCollector> StartAsync(TestStore store, CancellationToken cancellationToken, long? startRevision = null)
        {
            var client = store.Services.GetRequiredService<EtcdSessionEvents>();
            var from = startRevision ?? (await EtcdFixture.Client.GetAsync("any")).Header.Revision + 1;
            return new EventCollector(client, from, cancellationToken);
        }

        public async Task<List<EtcdSessionEvent>> TakeAsync(int count, CancellationToken cancellationToken)
        {
            var taken = new List<EtcdSessionEvent>();
            while (taken.Count < count)
            {
                taken.Add(await _events.Reader.ReadAsync(cancellationToken));
            }

            return taken;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _pump;
            _stop.Dispose();
        }
    }
}
