using Etcd.AspNetCore.Session.AspNetCore;
using System.Diagnostics.Metrics;
using Etcd.AspNetCore.Session.DependencyInjection;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session;

/// <summary>Registers the etcd session store.</summary>
public static class EtcdSessionServiceCollectionExtensions
{
    /// <summary>
    /// Registers the etcd session store as the app's <see cref="ISessionStore"/>, with one shared etcd client.
    /// Options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddEtcdSession(this IServiceCollection services, Action<EtcdSessionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<EtcdSessionOptions>().Configure(configure);
        return services.AddEtcdSessionCore();
    }

    /// <summary>
    /// Registers the etcd session store with options bound from configuration, e.g.
    /// <c>builder.Configuration.GetSection("EtcdSession")</c>: the keys are the property names of
    /// <see cref="EtcdSessionOptions"/>. Options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddEtcdSession(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<EtcdSessionOptions>().Bind(configuration);
        return services.AddEtcdSessionCore();
    }

    private static IServiceCollection AddEtcdSessionCore(this IServiceCollection services)
    {
        services.AddOptions<EtcdSessionOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EtcdSessionOptions>, EtcdSessionOptionsValidator>());
        services.TryAddSingleton<SessionSerializerResolver>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EtcdSessionOptions>, SessionSerializerValidator>());
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<EtcdClientProvider>();
        services.AddMetrics();
        services.TryAddSingleton<SessionMetrics>();
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            var metrics = sp.GetRequiredService<SessionMetrics>();
            var provider = sp.GetRequiredService<EtcdClientProvider>();
            var gateway = new EtcdGateway(provider.Pool, options.IOTimeout, loggers.CreateLogger<EtcdGateway>(), metrics);
            var serializers = sp.GetRequiredService<SessionSerializerResolver>().Resolve(options);
            var time = sp.GetRequiredService<TimeProvider>();
            SessionBackend? backend = null;
            var cache = options.NearCache.Enabled && gateway.CanOpenStreams
                ? new SessionCache(new CacheFreshness(time, options.NearCache.MaxStaleness), options.NearCache.SizeLimit, kv => backend!.Decode(kv))
                : null;
            var cacheMetrics = cache is null ? null : new NearCacheMetrics(sp.GetRequiredService<IMeterFactory>(), cache);
            backend = new SessionBackend(options, gateway, serializers, time, loggers, metrics, cache, cacheMetrics);
            return backend;
        });
        services.AddSingleton(sp =>
        {
            var backend = sp.GetRequiredService<SessionBackend>();
            return NearCacheService.Create(backend.NearCache, backend.Options, backend.Gateway, backend.Leases, backend.Time, sp.GetRequiredService<ILoggerFactory>());
        });
        services.TryAddSingleton(sp => new EtcdSessionStore(sp.GetRequiredService<SessionBackend>()));
        services.TryAddSingleton(sp => new EtcdSessionDirectory(sp.GetRequiredService<SessionBackend>()));
        services.TryAddSingleton(sp => new EtcdSessionEvents(sp.GetRequiredService<SessionBackend>(), sp.GetRequiredService<ILogger<EtcdSessionEvents>>()));
        services.AddDataProtection();
        services.TryAddSingleton<SessionCookie>();
        SessionAwareAuthenticationService.Decorate(services);
        services.RemoveAll<ISessionStore>();
        services.AddSingleton<ISessionStore>(sp => sp.GetRequiredService<EtcdSessionStore>());
        return services;
    }
}
