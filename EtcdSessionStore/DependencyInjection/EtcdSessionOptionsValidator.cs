using Etcd.AspNetCore.Session.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.DependencyInjection;

/// <summary>Start-up validation: each message names the setting, its value and what is allowed.</summary>
internal sealed class EtcdSessionOptionsValidator : IValidateOptions<EtcdSessionOptions>
{
    private static readonly string Section = EtcdSessionDefaults.ConfigurationSection;

    private static bool IsHeaderToken(string name) =>
        name.Length is > 0 and <= 128
        && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal))
        && !name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
        && !name.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase)
        && !name.Equals("Authorization", StringComparison.OrdinalIgnoreCase);

    public ValidateOptionsResult Validate(string? name, EtcdSessionOptions options)
    {
        var failures = new List<string>();
        if (!EtcdEndpoints.TryParse(options.Endpoints, out _, out var endpointError))
        {
            failures.Add($"{Section}:Endpoints '{options.Endpoints}' is invalid: {endpointError}. Expected a comma-separated list such as 'http://127.0.0.1:2379,http://127.0.0.1:22379'.");
        }

        if (!string.IsNullOrEmpty(options.Username) && string.IsNullOrEmpty(options.Password))
        {
            failures.Add($"{Section}:Password is missing: {Section}:Username '{options.Username}' is set, and etcd authentication needs both (or neither).");
        }

        if (options.EndSignInWithSession && !options.RegenerateIdOnSignIn)
        {
            failures.Add($"{Section}:EndSignInWithSession 'True' needs {Section}:RegenerateIdOnSignIn 'True': only a sign-in binds a session to its user, so without it every signed-in request would be signed out.");
        }

        if (string.IsNullOrEmpty(options.KeyPrefix) || !options.KeyPrefix.EndsWith('/'))
        {
            failures.Add($"{Section}:KeyPrefix '{options.KeyPrefix}' is invalid: it must be non-empty and end with '/', e.g. 'myapp/sessions/'.");
        }

        if (options.IdleTimeout < EtcdSessionOptions.MinIdleTimeout || options.IdleTimeout > EtcdSessionOptions.MaxIdleTimeout)
        {
            failures.Add($"{Section}:IdleTimeout '{options.IdleTimeout}' is invalid: it must be between 2 seconds (etcd's shortest lease) and 365 days.");
        }

        if (options.AbsoluteTimeout is { } abs && (abs < TimeSpan.FromSeconds(2) || abs > TimeSpan.FromDays(3650)))
        {
            failures.Add($"{Section}:AbsoluteTimeout '{abs}' is invalid: it must be empty (no limit) or between 2 seconds and 3650 days.");
        }

        if (options.RefreshInterval is { } refresh && (refresh <= TimeSpan.Zero || refresh > options.IdleTimeout))
        {
            failures.Add($"{Section}:RefreshInterval '{refresh}' is invalid: it must be empty (a tenth of IdleTimeout, at most a minute) or more than zero and at most IdleTimeout ({options.IdleTimeout}).");
        }

        if (options.NearCache is null)
        {
            failures.Add($"{Section}:NearCache is missing: leave it out for the defaults, or set NearCache:Enabled to false.");
        }
        else if (options.NearCache.Enabled)
        {
            if (options.NearCache.MaxStaleness < TimeSpan.FromMilliseconds(100) || options.NearCache.MaxStaleness > TimeSpan.FromMinutes(1))
            {
                failures.Add($"{Section}:NearCache:MaxStaleness '{options.NearCache.MaxStaleness}' is invalid: it must be between 100 milliseconds and 1 minute (the cache proves its freshness about four times per MaxStaleness).");
            }

            if (options.NearCache.SizeLimit < 1024 * 1024)
            {
                failures.Add($"{Section}:NearCache:SizeLimit '{options.NearCache.SizeLimit}' is invalid: it must be at least 1 MiB (1048576 bytes); set NearCache:Enabled to false for no cache.");
            }
        }

        if (options.IOTimeout <= TimeSpan.Zero || options.IOTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Section}:IOTimeout '{options.IOTimeout}' is invalid: it must be more than zero and at most 5 minutes.");
        }

        if (options.MaxSessionBytes < 1024 || options.MaxSessionBytes > StoreLimits.EtcdMaxRequestBytes - 4096)
        {
            failures.Add($"{Section}:MaxSessionBytes '{options.MaxSessionBytes}' is invalid: it must be between 1024 and {StoreLimits.EtcdMaxRequestBytes - 4096} (etcd's default request limit less room for the key and transaction).");
        }


        if (options.MaxSessionsPerUser is < 1)
        {
            failures.Add($"{Section}:MaxSessionsPerUser '{options.MaxSessionsPerUser}' is invalid: it must be empty (no limit) or at least 1.");
        }

        if (!string.IsNullOrEmpty(options.Password) && string.IsNullOrEmpty(options.Username))
        {
            failures.Add($"{Section}:Password is set but {Section}:Username is empty: give both or neither.");
        }

        ValidateTls(options, failures);

        if (string.IsNullOrWhiteSpace(options.Cookie?.Name))
        {
            failures.Add($"{Section}:Cookie:Name '{options.Cookie?.Name}' is invalid: the session cookie needs a non-empty name, e.g. '{EtcdSessionDefaults.CookieName}'.");
        }

        if (options.Cookie is { SameSite: SameSiteMode.None, SecurePolicy: CookieSecurePolicy.None })
        {
            failures.Add($"{Section}:Cookie:SameSite 'None' with {Section}:Cookie:SecurePolicy 'None' is invalid: browsers drop SameSite=None cookies that are not Secure; use SecurePolicy 'Always' or 'SameAsRequest', or another SameSite.");
        }

        if (!Enum.IsDefined(options.UnavailableBehavior))
        {
            failures.Add($"{Section}:UnavailableBehavior '{options.UnavailableBehavior}' is invalid: it must be FailRequest or ContinueWithoutSession.");
        }

        if (options.SessionTokenHeaderName is { } header && !IsHeaderToken(header))
        {
            failures.Add($"{Section}:SessionTokenHeaderName '{header}' is invalid: it must be empty (cookie only) or an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), other than Cookie, Set-Cookie or Authorization, e.g. 'X-Session-Token'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateTls(EtcdSessionOptions options, List<string> failures)
    {
        var tlsConfigured = !string.IsNullOrEmpty(options.TlsCaCertificateFile)
            || !string.IsNullOrEmpty(options.TlsClientCertificateFile) || !string.IsNullOrEmpty(options.TlsClientKeyFile);
        if (!tlsConfigured || options.ClientFactory is not null)
        {
            return;
        }

        if (EtcdEndpoints.TryParse(options.Endpoints, out var uris, out _) && uris[0].Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{Section}:Endpoints '{options.Endpoints}' are http:// but TLS files are configured: use https:// endpoints, or remove the Tls* settings.");
        }

        if (!EtcdTls.TryLoad(options, out var tls, out var errors))
        {
            failures.AddRange(errors);
        }

        tls?.ClientCertificate?.Dispose();
    }
}
