using Etcd.AspNetCore.Session.AspNetCore;
using Etcd.AspNetCore.Session.DataProtection;
using System.Diagnostics.Metrics;
using Etcd.AspNetCore.Session.DependencyInjection;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Protection;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
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
    /// Options are validated at start-up. A second call only adds its configuration of the options.
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
    /// <see cref="EtcdSessionOptions"/>. Options are validated at start-up. A second call only adds its configuration of the options.
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
        // Once per collection: the hosted services below are added, not tried, and a second near-cache service would
        // run a second heartbeat and watch over the one cache, overstating its freshness.
        if (services.Any(d => d.ServiceType == typeof(Registered)))
        {
            return services;
        }

        services.AddSingleton<Registered>();
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
            var pool = sp.GetRequiredService<EtcdClientProvider>().Pool;
            return new EtcdGateway(pool, options.IOTimeout, sp.GetRequiredService<ILogger<EtcdGateway>>(), sp.GetRequiredService<SessionMetrics>());
        });
        services.TryAddSingleton(sp => new ExpiryLeasePool(sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;
            var serializers = sp.GetRequiredService<SessionSerializerResolver>().Resolve(options);
            return new SessionCodec(serializers, options.MaxSessionBytes, sp.GetRequiredService<SessionMetrics>(), new ItemSealing(
                sp.GetRequiredService<IDataProtectionProvider>(), sp.GetService<IKeyManager>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ItemSealing>>(), options.EncryptAtRest));
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;
            var cache = options.NearCache.Enabled && sp.GetRequiredService<EtcdGateway>().CanOpenStreams
                ? new SessionCache(new CacheFreshness(sp.GetRequiredService<TimeProvider>(), options.NearCache.MaxStaleness), options.NearCache.SizeLimit,
                    sp.GetRequiredService<SessionCodec>().Decode)
                : null;
            return new NearCacheInstance(cache, cache is null ? null : new NearCacheMetrics(sp.GetRequiredService<IMeterFactory>(), cache));
        });
        services.AddSingleton(sp => NearCacheService.Create(sp.GetRequiredService<NearCacheInstance>().Cache, sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value,
            sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<ExpiryLeasePool>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new SessionRepository(
            sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value, sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<ExpiryLeasePool>(),
            sp.GetRequiredService<SessionCodec>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<SessionMetrics>(),
            sp.GetRequiredService<NearCacheInstance>()));
        services.TryAddSingleton(sp => new SessionStore(sp.GetRequiredService<SessionRepository>(), sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value));
        services.TryAddSingleton(sp => new EtcdSessionDirectory(
            sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<SessionCodec>(), sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<SessionMetrics>()));
        services.TryAddSingleton(sp => new EtcdSessionEvents(
            sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<EtcdSessionEvents>>()));
        services.AddDataProtection();
        services.TryAddSingleton(sp => new SessionCookie(
            sp.GetRequiredService<IDataProtectionProvider>(), sp.GetRequiredService<IOptions<EtcdSessionOptions>>(), sp.GetServices<EtcdXmlRepository>(),
            sp.GetRequiredService<NearCacheInstance>().Cache is null ? null : new UnprotectedTokens(sp.GetRequiredService<TimeProvider>(), sp.GetService<IKeyManager>())));
        SessionAwareAuthenticationService.Decorate(services);
        Import.SessionImportServices.Add(services);
        services.RemoveAll<ISessionStore>();
        services.AddSingleton<ISessionStore>(sp => sp.GetRequiredService<SessionStore>());
        return services;
    }

    /// <summary>Marks a collection that <c>AddEtcdSession</c> has registered its services in.</summary>
    private sealed class Registered;
}
