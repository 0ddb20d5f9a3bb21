using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Aspire.Tests.AppHost;

/// <summary>
/// The demo's app host (samples/EtcdSessionStore.AppHost) run whole through Aspire.Hosting.Testing: the orchestrator,
/// a 3-member etcd cluster from the etcd binary on PATH (no container engine), and the two shop instances.
/// </summary>
public sealed class AppHostTests
{
    // Generous: the orchestrator, three etcd members and two shops start on a loaded 2-core machine.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    [Test]
    [CancelAfter(360_000)]
    public async Task AppHost_StartsTheCluster_AndTwoShops_ThatShareACart(CancellationToken cancellationToken)
    {
        using var start = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        start.CancelAfter(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.EtcdSessionStore_AppHost>(
            [], (options, _) =>
            {
                options.DisableDashboard = true;
                options.AllowUnsecuredTransport = true;
            },
            start.Token);
        await using var app = await appHost.BuildAsync(start.Token);
        await app.StartAsync(start.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("etcd", start.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("shop-a", start.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("shop-b", start.Token);

        var etcd = (EtcdResource)app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "etcd");
        var endpoints = await etcd.ConnectionStringExpression.GetValueAsync(cancellationToken);
        var shopA = app.GetEndpoint("shop-a", "http");
        var shopB = app.GetEndpoint("shop-b", "http");
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { Timeout = TimeSpan.FromSeconds(30) };

        using var put = await browser.PostAsync(new Uri(shopA, "/cart"), new FormUrlEncodedContent([new("item", "apple")]), cancellationToken);
        put.EnsureSuccessStatusCode();
        var cartOnB = await browser.GetStringAsync(new Uri(shopB, "/cart"), cancellationToken);
        var etcdHealthOnB = await browser.GetStringAsync(new Uri(shopB, "/health/etcd"), cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(endpoints!.Split(','), Has.Length.EqualTo(3), endpoints);
            Assert.That(shopA.Port, Is.Not.EqualTo(shopB.Port));
            Assert.That(cartOnB, Is.EqualTo("[\"apple\"]"));
            Assert.That(etcdHealthOnB, Is.EqualTo("Healthy"));
        });
    }
}
