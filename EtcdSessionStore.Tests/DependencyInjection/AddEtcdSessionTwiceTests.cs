using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.DependencyInjection;

/// <summary>A second <c>AddEtcdSession</c> (an app's own call beside a library's) configures options and registers nothing again.</summary>
public sealed class AddEtcdSessionTwiceTests
{
    [Test]
    public async Task CalledTwice_StartsTheSameHostedServices_AsCalledOnce()
    {
        await using var once = Build(s => s.AddEtcdSession(_ => { }));
        await using var twice = Build(s => s.AddEtcdSession(_ => { }).AddEtcdSession(_ => { }));

        var started = once.GetServices<IHostedService>().Select(s => s.GetType().FullName);
        var startedTwice = twice.GetServices<IHostedService>().Select(s => s.GetType().FullName);

        Assert.That(startedTwice, Is.EqualTo(started), "a second near-cache service would keep its own freshness and overstate the cache's");
    }

    [Test]
    public void CalledTwice_AddsOnlyOptionConfiguration()
    {
        var once = new ServiceCollection().AddEtcdSession(_ => { });
        var twice = new ServiceCollection().AddEtcdSession(_ => { }).AddEtcdSession(_ => { });

        var services = once.Where(d => !IsOptionConfiguration(d)).Select(d => d.ServiceType.FullName);
        var servicesTwice = twice.Where(d => !IsOptionConfiguration(d)).Select(d => d.ServiceType.FullName);

        Assert.That(servicesTwice, Is.EqualTo(services));
    }

    [Test]
    public async Task CalledTwice_AppliesBothConfigurations()
    {
        await using var services = Build(s => s
            .AddEtcdSession(o => o.KeyPrefix = "shop/")
            .AddEtcdSession(o => o.IdleTimeout = TimeSpan.FromMinutes(5)));

        var options = services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;

        Assert.Multiple(() =>
        {
            Assert.That(options.KeyPrefix, Is.EqualTo("shop/"));
            Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
        });
    }

    private static ServiceProvider Build(Action<IServiceCollection> add)
    {
        var services = new ServiceCollection();
        add(services);
        return services.BuildServiceProvider();
    }

    private static bool IsOptionConfiguration(ServiceDescriptor descriptor) =>
        descriptor.ServiceType.IsGenericType && descriptor.ServiceType.GetGenericTypeDefinition() is var type
        && (type == typeof(IConfigureOptions<>) || type == typeof(IPostConfigureOptions<>) || type == typeof(IOptionsChangeTokenSource<>));
}
