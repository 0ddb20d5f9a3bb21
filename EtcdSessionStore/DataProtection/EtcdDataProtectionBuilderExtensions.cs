using Etcd.AspNetCore.Session.DataProtection;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session;

/// <summary>Keeps the ASP.NET Core Data Protection key ring in etcd.</summary>
public static class EtcdDataProtectionBuilderExtensions
{
    /// <summary>The folder, under <see cref="EtcdSessionOptions.KeyPrefix"/>, that holds the key ring.</summary>
    internal const string Folder = "dataprotection/";

    /// <summary>
    /// Stores the Data Protection key ring in etcd under <c>{KeyPrefix}dataprotection/</c>, through the session
    /// store's etcd client, so that every instance of the app can read the session cookies the others issue.
    /// Requires <c>services.AddEtcdSession(...)</c>. The keys are stored unencrypted unless you also configure
    /// key encryption (e.g. <c>ProtectKeysWithCertificate</c>): restrict access to the prefix in etcd.
    /// While the key ring cannot be read (etcd down since start-up), requests that present a session cookie are
    /// answered as with etcd down (<see cref="EtcdSessionOptions.UnavailableBehavior"/>); the cookie is kept.
    /// </summary>
    public static IDataProtectionBuilder PersistKeysToEtcd(this IDataProtectionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var first = !builder.Services.Any(d => d.ServiceType == typeof(EtcdXmlRepository));
        builder.Services.TryAddSingleton(sp =>
        {
            var gateway = sp.GetService<EtcdGateway>() ?? throw new InvalidOperationException(
                "PersistKeysToEtcd() uses the etcd session store's client: call services.AddEtcdSession(...) too.");
            return new EtcdXmlRepository(gateway, sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.KeyPrefix + Folder,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<EtcdXmlRepository>());
        });
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
            o.XmlRepository = sp.GetRequiredService<EtcdXmlRepository>()));
        if (first)
        {
            // First of the hosted services: Data Protection's own one reads the key ring at start-up, and must find it loaded.
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => new EtcdKeyRingLoader(
                sp.GetRequiredService<EtcdXmlRepository>(), sp.GetRequiredService<IDataProtectionProvider>(),
                sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.IOTimeout, sp.GetRequiredService<ILogger<EtcdKeyRingLoader>>())));
        }

        return builder;
    }
}
