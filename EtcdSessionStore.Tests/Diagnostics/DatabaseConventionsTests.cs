using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Diagnostics;

/// <summary>
/// OpenTelemetry's database-client conventions on every etcd call: the <c>db.client.operation.duration</c>
/// histogram and the client span carry the same attributes.
/// </summary>
public sealed class DatabaseConventionsTests
{
    [Test]
    public async Task EachCall_IsMeasuredInSeconds_WithTheDatabaseAttributes()
    {
        using var store = TestStore.Create();
        using var recorder = new MeasurementRecorder(store.Services.GetRequiredService<IMeterFactory>());
        var port = new Uri(EtcdFixture.Endpoints).Port;

        var session = await store.SeedAsync(("a", "1"));
        await store.OpenAsync(session.SessionKey);

        var calls = recorder.All.Where(m => m.Name == "db.client.operation.duration").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(calls.Select(c => Tag(c.Tags, "db.operation.name")), Does.Contain("Txn").And.Contain("Range"));
            Assert.That(calls.Select(c => Tag(c.Tags, "db.system.name")), Is.All.EqualTo("etcd"));
            Assert.That(calls.Select(c => Tag(c.Tags, "server.address")), Is.All.EqualTo("127.0.0.1"));
            Assert.That(calls.Select(c => Tag(c.Tags, "server.port")), Is.All.EqualTo(port));
            Assert.That(calls.Select(c => Tag(c.Tags, "error.type")), Is.All.Null);
            Assert.That(calls.Select(c => c.Value), Is.All.GreaterThan(0).And.All.LessThan(5), "seconds, not milliseconds");
        });
    }

    [Test]
    public void TheHistogram_HasTheConventionalUnitAndBuckets()
    {
        using var store = TestStore.Create();
        Instrument? published = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Name == "db.client.operation.duration" && ReferenceEquals(instrument.Meter.Scope, store.Services.GetRequiredService<IMeterFactory>()))
                {
                    published = instrument;
                }
            },
        };
        listener.Start();

        Assert.That(published, Is.Not.Null, "the instrument exists as soon as the store does");
        Assert.Multiple(() =>
        {
            Assert.That(published!.Unit, Is.EqualTo("s"));
            Assert.That(published.Meter.Name, Is.EqualTo(EtcdSessionInstrumentation.MeterName));
            Assert.That(((Histogram<double>)published).Advice?.HistogramBucketBoundaries,
                Is.EqualTo(new[] { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10 }));
        });
    }

    [Test]
    public async Task ASpan_IsNamedAfterTheOperation_AndTaggedLikeTheMeasurement()
    {
        using var store = TestStore.Create();
        using var spans = new SpanRecorder();
        var port = new Uri(EtcdFixture.Endpoints).Port;

        var session = await store.SeedAsync(("a", "1"));
        await store.OpenAsync(session.SessionKey);

        var range = spans.Stopped.First(a => a.DisplayName == "Range");
        Assert.Multiple(() =>
        {
            Assert.That(range.Kind, Is.EqualTo(ActivityKind.Client));
            Assert.That(range.GetTagItem("db.system.name"), Is.EqualTo("etcd"));
            Assert.That(range.GetTagItem("db.operation.name"), Is.EqualTo("Range"));
            Assert.That(range.GetTagItem("server.address"), Is.EqualTo("127.0.0.1"));
            Assert.That(range.GetTagItem("server.port"), Is.EqualTo(port));
            Assert.That(range.GetTagItem("error.type"), Is.Null);
            Assert.That(range.Status, Is.Not.EqualTo(ActivityStatusCode.Error));
            Assert.That(spans.Stopped.Select(a => a.DisplayName), Does.Contain("Txn"));
        });
    }

    [Test]
    public void AFailedCall_CarriesErrorTypeAndStatusCode_OnTheMeasurementAndTheSpan()
    {
        var port = EtcdMember.FreePort(); // nothing listens there
        using var store = TestStore.Create(o => o.IOTimeout = TimeSpan.FromMilliseconds(600), endpoints: $"http://127.0.0.1:{port}");
        using var recorder = new MeasurementRecorder(store.Services.GetRequiredService<IMeterFactory>());
        using var spans = new SpanRecorder();

        var failure = Assert.ThrowsAsync<EtcdSessionException>(() => store.SeedAsync(("a", "1")));

        var call = recorder.All.First(m => m.Name == "db.client.operation.duration");
        var span = spans.Stopped.First(a => (string?)a.GetTagItem("db.operation.name") == (string?)Tag(call.Tags, "db.operation.name"));
        var errorType = Etcd.AspNetCore.Session.Diagnostics.SessionMetrics.KindName(failure!.Kind);
        Assert.Multiple(() =>
        {
            Assert.That(errorType, Is.AnyOf("unavailable", "timeout", "etcd_error"), "refused connections end as one of these, by timing");
            Assert.That(Tag(call.Tags, "error.type"), Is.EqualTo(errorType));
            Assert.That(Tag(call.Tags, "server.port"), Is.EqualTo(port));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo(errorType));
            Assert.That(span.GetTagItem("server.port"), Is.EqualTo(port));
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.GetTagItem("db.response.status_code"), Is.EqualTo(Tag(call.Tags, "db.response.status_code")));
        });
    }

    [Test]
    public async Task TheStoresOwnInstruments_KeepTheirNames()
    {
        using var store = TestStore.Create();
        using var recorder = new MeasurementRecorder(store.Services.GetRequiredService<IMeterFactory>());

        var session = await store.SeedAsync(("a", "1"));
        await store.OpenAsync(session.SessionKey);

        var names = recorder.All.Select(m => m.Name).Distinct().ToList();
        Assert.That(names, Is.SupersetOf(new[] { "etcd.session.commits", "etcd.session.loads", "db.client.operation.duration" }));
        // One measurement, one instrument: a call's duration is db.client.operation.duration only.
        Assert.That(names.Count(n => n.EndsWith(".duration", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    private static object? Tag(KeyValuePair<string, object?>[] tags, string key) =>
        tags.FirstOrDefault(t => t.Key == key).Value;

    /// <summary>The store's spans stopped while it lives, on this test's own execution context only.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivitySource _root = new("EtcdSessionStore.Tests.Conventions");
        private readonly Activity _scope;

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == EtcdSessionInstrumentation.ActivitySourceName || s == _root,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
            _scope = _root.StartActivity("test")!;
        }

        /// <summary>Spans of this test (under its root activity), other tests' spans left out.</summary>
        public IReadOnlyList<Activity> Stopped => [.. _stopped.Where(a => a.TraceId == _scope.TraceId && a != _scope)];

        public void Dispose()
        {
            _scope.Dispose();
            _listener.Dispose();
            _root.Dispose();
        }
    }
}
