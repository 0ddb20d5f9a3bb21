using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Diagnostics;

public sealed class MetricsAndTracingTests
{
    [Test]
    public async Task TheLifecycle_IsCounted_OnTheStoresMeter()
    {
        using var store = TestStore.Create();
        using var recorder = new MeasurementRecorder(store.Services.GetRequiredService<IMeterFactory>());

        var session = store.NewSession();
        session.SetString("a", "1");
        await session.CommitAsync();
        var first = await store.OpenAsync(session.SessionKey);
        var second = await store.OpenAsync(session.SessionKey);
        first.SetString("b", "2");
        await first.CommitAsync();
        second.SetString("c", "3");
        await second.CommitAsync(); // meets first's write: merged
        await second.RegenerateIdAsync();
        await second.DestroyAsync();
        await store.OpenAsync(session.SessionKey); // rotated away: not found

        Assert.Multiple(() =>
        {
            Assert.That(recorder.Sum("etcd.session.commits", ("kind", "created")), Is.EqualTo(1));
            Assert.That(recorder.Sum("etcd.session.commits", ("kind", "updated")), Is.EqualTo(2));
            Assert.That(recorder.Sum("etcd.session.merges"), Is.EqualTo(1));
            Assert.That(recorder.Sum("etcd.session.loads", ("result", "found")), Is.EqualTo(2));
            Assert.That(recorder.Sum("etcd.session.loads", ("result", "not_found")), Is.EqualTo(1));
            Assert.That(recorder.Sum("etcd.session.rotations"), Is.EqualTo(1));
            Assert.That(recorder.Sum("etcd.session.destroys"), Is.EqualTo(1));
            Assert.That(recorder.Count("db.client.operation.duration", ("db.operation.name", "Txn")), Is.GreaterThanOrEqualTo(5));
            // The load of the rotated-away key finds nothing, so it also reads the key's "moved" marker: 2 + 2.
            Assert.That(recorder.Count("db.client.operation.duration", ("db.operation.name", "Range")), Is.EqualTo(4));
        });
    }

    [Test]
    public void ASessionTooLargeToStore_IsCountedAsAnErrorOfItsKind()
    {
        using var store = TestStore.Create(o => o.MaxSessionBytes = 1024);
        using var recorder = new MeasurementRecorder(store.Services.GetRequiredService<IMeterFactory>());
        var session = store.NewSession();
        session.Set("big", new byte[4096]);

        Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.That(recorder.Sum("etcd.session.errors", ("error.type", "too_large")), Is.EqualTo(1));
    }

    [Test]
    public async Task EachEtcdCall_IsAClientSpan_UnderTheCallersActivity()
    {
        using var store = TestStore.Create();
        using var testSource = new ActivitySource("EtcdSessionStore.Tests");
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EtcdSessionInstrumentation.ActivitySourceName || s.Name == "EtcdSessionStore.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        ActivityTraceId trace;
        using (var root = testSource.StartActivity("request"))
        {
            trace = root!.TraceId;
            var session = store.NewSession();
            session.SetString("a", "1");
            await session.CommitAsync();
            await store.OpenAsync(session.SessionKey);
        }

        var ours = spans.Where(a => a.TraceId == trace && a.Source.Name == EtcdSessionInstrumentation.ActivitySourceName).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ours.Select(a => a.DisplayName), Does.Contain("Txn").And.Contain("Range"));
            Assert.That(ours.All(a => a.Kind == ActivityKind.Client), Is.True);
            Assert.That(ours.All(a => (string?)a.GetTagItem("db.system.name") == "etcd"), Is.True);
            Assert.That(ours.All(a => a.Status != ActivityStatusCode.Error), Is.True);
        });
    }
}
