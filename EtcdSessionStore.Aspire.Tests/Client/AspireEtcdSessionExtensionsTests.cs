using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Etcd.AspNetCore.Session.Aspire.Tests.Client;

/// <summary>
/// What <c>builder.AddEtcdSession("etcd")</c> binds and registers. Not parallel: the tracing and metrics checks look at
/// which listeners the process has.
/// </summary>
[NonParallelizable]
public sealed class AspireEtcdSessionExtensionsTests
{
    private const string ClusterUrls = "http://127.0.0.1:2381,http://127.0.0.1:2383,http://127.0.0.1:2385";

    [Test]
    public void Settings_AreBoundFromAspireEtcdSession_AndTheConnectionString()
    {
        var builder = Builder(new()
        {
            ["ConnectionStrings:etcd"] = ClusterUrls,
            ["Aspire:EtcdSession:DisableHealthChecks"] = "true",
            ["Aspire:EtcdSession:DisableTracing"] = "true",
            ["Aspire:EtcdSession:DisableMetrics"] = "true",
        });
        EtcdSessionSettings? seen = null;

        builder.AddEtcdSession("etcd", settings => seen = settings);

        Assert.That(seen, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(seen!.ConnectionString, Is.EqualTo(ClusterUrls));
            Assert.That(seen.DisableHealthChecks, Is.True);
            Assert.That(seen.DisableTracing, Is.True);
            Assert.That(seen.DisableMetrics, Is.True);
        });
    }

    [Test]
    public void ConnectionString_IsTheStoresEndpoints_OverTheEtcdSessionSection()
    {
        var builder = Builder(new()
        {
            ["ConnectionStrings:etcd"] = ClusterUrls,
            ["EtcdSession:Endpoints"] = "http://127.0.0.1:2379",
            ["EtcdSession:KeyPrefix"] = "shop/",
        });

        builder.AddEtcdSession("etcd");

        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(options.Endpoints, Is.EqualTo(ClusterUrls));
            Assert.That(options.KeyPrefix, Is.EqualTo("shop/"));
        });
    }

    [Test]
    public void WithoutConnectionString_TheEtcdSessionSectionsEndpointsApply()
    {
        var builder = Builder(new() { ["EtcdSession:Endpoints"] = "http://127.0.0.1:23790" });

        builder.AddEtcdSession("etcd");

        using var host = builder.Build();
        Assert.That(host.Services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.Endpoints, Is.EqualTo("http://127.0.0.1:23790"));
    }

    [Test]
    public void ConfigureOptions_RunsAfterTheConnectionString()
    {
        var builder = Builder(new() { ["ConnectionStrings:etcd"] = ClusterUrls });

        builder.AddEtcdSession("etcd", configureOptions: o => o.Endpoints = "http://127.0.0.1:9999");

        using var host = builder.Build();
        Assert.That(host.Services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.Endpoints, Is.EqualTo("http://127.0.0.1:9999"));
    }

    [Test]
    public void HealthCheck_IsRegistered_UnlessDisabled()
    {
        Assert.Multiple(() =>
        {
            Assert.That(HealthChecksOf(new()), Is.EqualTo(new[] { EtcdSessionHealthChecksBuilderExtensions.DefaultName }));
            Assert.That(HealthChecksOf(new() { ["Aspire:EtcdSession:DisableHealthChecks"] = "true" }), Is.Empty);
        });
    }

    [Test]
    public void EnrichEtcdSession_AfterAddEtcdSession_AddsNoSecondHealthCheck()
    {
        var builder = Builder(new());

        builder.AddEtcdSession("etcd");
        builder.EnrichEtcdSession("etcd");

        using var host = builder.Build();
        var names = host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name);
        Assert.That(names, Is.EqualTo(new[] { EtcdSessionHealthChecksBuilderExtensions.DefaultName }));
    }

    [Test]
    public void EnrichEtcdSession_TakesTheEndpoints_ForAStoreTheAppRegistered()
    {
        var builder = Builder(new() { ["ConnectionStrings:etcd"] = ClusterUrls, ["Store:Endpoints"] = "http://127.0.0.1:2379" });
        builder.Services.AddEtcdSession(builder.Configuration.GetSection("Store"));

        builder.EnrichEtcdSession("etcd");

        using var host = builder.Build();
        Assert.That(host.Services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.Endpoints, Is.EqualTo(ClusterUrls));
    }

    [TestCase(false, true)]
    [TestCase(true, false)]
    public void Tracing_ListensToTheStoresSpans_UnlessDisabled(bool disable, bool expectSpan)
    {
        var builder = Builder(new() { ["Aspire:EtcdSession:DisableTracing"] = disable ? "true" : "false" });
        builder.AddEtcdSession("etcd");

        using var host = builder.Build();
        host.Services.GetService<OpenTelemetry.Trace.TracerProvider>();
        using var source = new ActivitySource(EtcdSessionInstrumentation.ActivitySourceName);
        using var span = source.StartActivity("Range", ActivityKind.Client);

        Assert.That(span is not null, Is.EqualTo(expectSpan));
    }

    [TestCase(false, true)]
    [TestCase(true, false)]
    public void Metrics_ListenToTheStoresMeter_UnlessDisabled(bool disable, bool expectEnabled)
    {
        var builder = Builder(new() { ["Aspire:EtcdSession:DisableMetrics"] = disable ? "true" : "false" });
        // An app's exporter (the OTLP one under an app host): without a reader, OpenTelemetry listens to no instrument.
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddReader(new BaseExportingMetricReader(new DiscardingExporter())));
        builder.AddEtcdSession("etcd");

        using var host = builder.Build();
        host.Services.GetService<MeterProvider>();
        using var meter = new Meter(EtcdSessionInstrumentation.MeterName);
        var counter = meter.CreateCounter<long>("etcd.session.probe");

        Assert.That(counter.Enabled, Is.EqualTo(expectEnabled));
    }

    [Test]
    public void ConfigurationSchema_DescribesEverySetting_AndOnlyThem()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "EtcdSessionStore.Aspire", "ConfigurationSchema.json")))!;
        var described = schema["properties"]!["Aspire"]!["properties"]!["EtcdSession"]!["properties"]!.AsObject().Select(p => p.Key);
        var settings = typeof(EtcdSessionSettings).GetProperties().Select(p => p.Name);

        Assert.That(described, Is.EquivalentTo(settings));
    }

    [Test]
    public void ConfigurationSchema_DescribesOnlyOptionsTheStoreHas()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "EtcdSessionStore.Aspire", "ConfigurationSchema.json")))!;
        var section = schema["properties"]!["EtcdSession"]!;

        var unknown = Unknown(section, typeof(EtcdSessionOptions), "EtcdSession").ToList();

        Assert.That(unknown, Is.Empty);
    }

    private sealed class DiscardingExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }

    private static IEnumerable<string> Unknown(JsonNode section, Type type, string path)
    {
        foreach (var (name, node) in section["properties"]!.AsObject())
        {
            var property = type.GetProperty(name);
            if (property is null)
            {
                yield return $"{path}:{name}";
            }
            else if (node!["properties"] is not null)
            {
                foreach (var inner in Unknown(node, property.PropertyType, $"{path}:{name}"))
                {
                    yield return inner;
                }
            }
        }
    }

    private static List<string> HealthChecksOf(Dictionary<string, string?> configuration)
    {
        var builder = Builder(configuration);
        builder.AddEtcdSession("etcd");
        using var host = builder.Build();
        return [.. host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name)];
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EtcdSessionStore.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("The repository root (EtcdSessionStore.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
