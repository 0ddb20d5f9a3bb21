using Etcd.AspNetCore.Session.DataProtection;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;

namespace Etcd.AspNetCore.Session.Import;

/// <summary>Registers the import (<see cref="EtcdSessionOptions.Import"/>); it does nothing until turned on.</summary>
internal static class SessionImportServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EtcdSessionOptions>, SessionImportValidator>());
        services.TryAddSingleton(sp => new SessionImporter(
            sp.GetRequiredService<IOptions<EtcdSessionOptions>>(),
            sp.GetRequiredService<IOptions<EtcdSessionOptions>>().Value.Import.Enabled ? sp.GetService<IDistributedCache>() : null, sp.GetRequiredService<IDataProtectionProvider>(),
            sp.GetServices<EtcdXmlRepository>(), sp.GetRequiredService<EtcdGateway>(), sp.GetRequiredService<ExpiryLeasePool>(), sp.GetRequiredService<SessionCodec>(),
            sp.GetRequiredService<TimeProvider>(), new ImportMetrics(sp.GetRequiredService<IMeterFactory>()), sp.GetRequiredService<ILogger<SessionImporter>>()));
    }
}
