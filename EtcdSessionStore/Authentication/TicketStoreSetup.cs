using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Authentication;

/// <summary>Gives the cookie schemes named in <c>StoreTicketsInEtcd</c> (every cookie scheme when none is named) an <see cref="EtcdTicketStore"/>.</summary>
internal sealed class TicketStoreSetup : IPostConfigureOptions<CookieAuthenticationOptions>
{
    private readonly IServiceProvider _services;
    private readonly string[] _schemes;

    public TicketStoreSetup(IServiceProvider services, string[] schemes)
    {
        _services = services;
        _schemes = schemes;
    }

    public void PostConfigure(string? name, CookieAuthenticationOptions options)
    {
        name ??= Options.DefaultName;
        if (_schemes.Length > 0 && !_schemes.Contains(name, StringComparer.Ordinal))
        {
            return;
        }

        var gateway = _services.GetService<EtcdGateway>()
            ?? throw new InvalidOperationException("StoreTicketsInEtcd() keeps sign-in tickets through the etcd session store: call services.AddEtcdSession(...) too.");
        var protector = _services.GetRequiredService<IDataProtectionProvider>().CreateProtector(EtcdTicketStore.ProtectorPurpose, name);
        var logger = _services.GetRequiredService<ILoggerFactory>().CreateLogger<EtcdTicketStore>();
        options.SessionStore = new EtcdTicketStore(gateway, _services.GetRequiredService<ExpiryLeasePool>(),
            _services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value, _services.GetRequiredService<TimeProvider>(),
            protector, options.ExpireTimeSpan, logger);
    }
}
