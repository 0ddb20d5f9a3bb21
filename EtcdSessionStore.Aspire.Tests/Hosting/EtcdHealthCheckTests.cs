using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Etcd.AspNetCore.Session.Aspire.Tests.Hosting;

/// <summary>The resource's health check against a real etcd member, and against a port nothing listens on.</summary>
public sealed class EtcdHealthCheckTests
{
    [Test]
    public async Task HealthCheck_IsHealthy_WhenEveryMemberSaysSo()
    {
        await using var member = await EtcdMember.StartSingleAsync("aspire-health");
        var builder = DistributedApplication.CreateBuilder();
        var etcd = builder.AddEtcd("etcd");
        etcd.Resource.ClientEndpoint.EndpointAnnotation.AllocatedEndpoint = new(etcd.Resource.ClientEndpoint.EndpointAnnotation, "localhost", member.ClientPort);

        var result = await CheckAsync(builder, "etcd_check");

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy), result.Description);
    }

    [Test]
    public async Task HealthCheck_IsDegraded_WhenOnlyAMajorityAnswers_AndUnhealthy_WhenNot()
    {
        await using var member = await EtcdMember.StartSingleAsync("aspire-health-partial");
        var down = EtcdMember.FreePort();
        var builder = DistributedApplication.CreateBuilder();
        var three = builder.AddEtcd("three").WithMembers(3);
        SetClientPorts(three.Resource, member.ClientPort, member.ClientPort, down);
        var two = builder.AddEtcd("two").WithMembers(2);
        SetClientPorts(two.Resource, member.ClientPort, down);

        var degraded = await CheckAsync(builder, "three_check");
        var unhealthy = await CheckAsync(builder, "two_check");

        Assert.Multiple(() =>
        {
            Assert.That(degraded.Status, Is.EqualTo(HealthStatus.Degraded), degraded.Description);
            Assert.That(degraded.Description, Does.Contain("2 of 3 members healthy").And.Contain($"127.0.0.1:{down}"));
            Assert.That(unhealthy.Status, Is.EqualTo(HealthStatus.Unhealthy), unhealthy.Description);
        });
    }

    private static void SetClientPorts(global::Aspire.Hosting.ApplicationModel.EtcdResource etcd, params int[] ports)
    {
        for (var i = 0; i < ports.Length; i++)
        {
            var annotation = etcd.Members[i].ClientEndpoint.EndpointAnnotation;
            annotation.AllocatedEndpoint = new(annotation, "localhost", ports[i]);
        }
    }

    private static async Task<HealthCheckResult> CheckAsync(IDistributedApplicationBuilder builder, string name)
    {
        await using var services = builder.Services.BuildServiceProvider();
        var registration = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations.Single(r => r.Name == name);
        var check = registration.Factory(services);
        return await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });
    }
}
