using Etcd.AspNetCore.Session.Tests.Infrastructure;
using static Etcd.AspNetCore.Session.Tests.Infrastructure.DemoShop;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The demo maps the store's health check at /health/etcd.</summary>
public sealed class DemoHealthCheckTests
{
    [Test]
    public async Task TheDemosEtcdHealthCheck_ReportsHealthy()
    {
        await using var shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(ActiveSessionsTests)));
        using var client = Browsers.Open();

        // Degraded for the first moments: until the near cache's first heartbeat comes back through its watch, reads go to etcd.
        var body = await Eventually.ValueAsync(() => client.GetStringAsync(shop.Url + "/health/etcd"), b => b != "Degraded", TimeSpan.FromSeconds(10));

        Assert.That(body, Is.EqualTo("Healthy"));
    }
}
