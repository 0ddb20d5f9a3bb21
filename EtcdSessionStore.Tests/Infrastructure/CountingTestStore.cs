using dotnet_etcd;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// A <see cref="TestStore"/> whose store talks to etcd through a client with a <see cref="EtcdCallInterceptor"/>:
/// the store is wired by AddEtcdSession as usual, only its gateway's client is swapped.
/// </summary>
public static class CountingTestStore
{
    public static TestStore Create(EtcdCallInterceptor counter, TimeProvider time, Action<EtcdSessionOptions>? configure = null) =>
        TestStore.Create(configure, services =>
        {
            services.AddSingleton(time);
            UseCountingClient(services, counter);
        });

    /// <summary>Makes the store that AddEtcdSession registered in <paramref name="services"/> call etcd through a counting client.</summary>
    private static void UseCountingClient(IServiceCollection services, EtcdCallInterceptor counter)
    {
        services.AddSingleton(_ => new CountedClient(EtcdTestClient.Create(interceptors: counter)));
        services.Replace(ServiceDescriptor.Singleton(sp => new EtcdGateway(sp.GetRequiredService<CountedClient>().Client,
            sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.IOTimeout, sp.GetRequiredService<ILogger<EtcdGateway>>())));
    }

    /// <summary>Owns the counting client so that the service provider disposes it.</summary>
    private sealed class CountedClient(EtcdClient client) : IDisposable
    {
        public EtcdClient Client { get; } = client;

        public void Dispose() => Client.Dispose();
    }
}
