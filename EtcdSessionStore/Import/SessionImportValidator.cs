using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Import;

/// <summary>Start-up validation of <see cref="EtcdSessionOptions.Import"/>: each message names the setting, its value and what is allowed.</summary>
internal sealed class SessionImportValidator : IValidateOptions<EtcdSessionOptions>
{
    private static readonly string Section = EtcdSessionDefaults.ConfigurationSection + ":Import";

    private readonly IServiceProviderIsService _services;

    public SessionImportValidator(IServiceProviderIsService services)
    {
        _services = services;
    }

    public ValidateOptionsResult Validate(string? name, EtcdSessionOptions options)
    {
        var import = options.Import;
        if (import is null)
        {
            return ValidateOptionsResult.Fail($"{Section} is missing: leave it out for the defaults (no import), or set Import:Enabled to false.");
        }

        if (!import.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(import.CookieName) || string.Equals(import.CookieName, options.Cookie?.Name, StringComparison.Ordinal))
        {
            failures.Add($"{Section}:CookieName '{import.CookieName}' is invalid: it must name the stock session cookie (default '{SessionImportOptions.StockCookieName}'), not be empty, and differ from {EtcdSessionDefaults.ConfigurationSection}:Cookie:Name '{options.Cookie?.Name}'.");
        }

        if (string.IsNullOrEmpty(import.CookiePath) || !import.CookiePath.StartsWith('/'))
        {
            failures.Add($"{Section}:CookiePath '{import.CookiePath}' is invalid: it must start with '/', as the stock cookie's path does (default '/').");
        }

        if (!_services.IsService(typeof(IDistributedCache)))
        {
            failures.Add($"{Section}:Enabled 'True' needs the previous store: register the app's IDistributedCache as the previous version did (e.g. services.AddStackExchangeRedisCache(...)), or turn the import off.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
