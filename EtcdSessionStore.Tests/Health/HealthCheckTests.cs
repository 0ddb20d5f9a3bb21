using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Etcd.AspNetCore.Session.Tests.Health;

public sealed class HealthCheckTests
{
    [Test]
    public async Task HealthCheck_WithEtcdUp_IsHealthyAndReportsLatency()
    {
        using var store = TestStore.Create(services: s => s.AddHealthChecks().AddEtcdSession());

        var report = await store.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries[EtcdSessionHealthChecksBuilderExtensions.DefaultName];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        Assert.That(entry.Data["latency_ms"], Is.TypeOf<double>());
    }

    [Test]
    public async Task HealthCheck_SlowerThanTheThreshold_IsDegraded()
    {
        using var store = TestStore.Create(services: s => s.AddHealthChecks().AddEtcdSession(degradedThreshold: TimeSpan.Zero));

        var report = await store.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.That(report.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(report.Entries.Single().Value.Description, Does.Contain("above the threshold"));
    }

    [Test]
    public async Task HealthCheck_WithEtcdUnreachable_ReportsTheFailureStatusWithinTheIOTimeout()
    {
        using var store = TestStore.Create(
            o => o.IOTimeout = TimeSpan.FromSeconds(1),
            s => s.AddHealthChecks().AddEtcdSession(failureStatus: HealthStatus.Unhealthy),
            endpoints: "http://127.0.0.1:1");
        var started = DateTime.UtcNow;

        var report = await store.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.That(report.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(report.Entries.Single().Value.Description, Does.StartWith("etcd did not answer"));
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(4)));
    }
}
