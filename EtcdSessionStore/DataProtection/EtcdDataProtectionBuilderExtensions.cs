using Etcd.AspNetCore.Session.DataProtection;
using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
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
    /// </summary>
    public static IDataProtectionBuilder PersistKeysToEtcd(this IDataProtectionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
        {
            var backend = sp.GetService<SessionBackend>() ?? throw new InvalidOperationException(
                "PersistKeysToEtcd() uses the etcd session store's client: call services.AddEtcdSession(...) too.");
            o.XmlRepository = new EtcdXmlRepository(backend.Gateway, backend.Options.KeyPrefix + Folder,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<EtcdXmlRepository>());
        }));
        return builder;
    }
}
