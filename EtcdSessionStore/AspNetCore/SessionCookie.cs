using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Reads and writes the session cookie, and the session header when <see cref="EtcdSessionOptions.SessionIdHeaderName"/>
/// is set (a request that sends the header is answered in the header, not with a cookie). Either carries the
/// secret session key protected (encrypted and authenticated) with ASP.NET Core Data Protection: a client
/// cannot make up a token the app accepts.
/// </summary>
internal sealed class SessionCookie
{
    // Changing the purpose invalidates every cookie issued before: every client starts a new session.
    private const string Purpose = "Etcd.AspNetCore.Session.Cookie.v1";

    private readonly IDataProtector _protector;
    private readonly IOptions<EtcdSessionOptions> _options;

    public SessionCookie(IDataProtectionProvider dataProtection, IOptions<EtcdSessionOptions> options)
    {
        _protector = dataProtection.CreateProtector(Purpose);
        _options = options;
    }

    private CookieBuilder Builder => _options.Value.Cookie;

    /// <summary>The cookie the request presented, if any, and the secret key it carries if it could be unprotected.</summary>
    public (bool Present, string? Secret) Read(HttpContext context)
    {
        var value = SentHeader(context) ?? context.Request.Cookies[Builder.Name!];
        if (string.IsNullOrEmpty(value))
        {
            return (false, null);
        }

        try
        {
            var secret = _protector.Unprotect(value);
            return (true, string.IsNullOrEmpty(secret) ? null : secret);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            // Forged, corrupted, or protected with a key this instance's key ring does not hold.
            return (true, null);
        }
    }

    public void Append(HttpContext context, string secret)
    {
        var token = Protect(secret);
        if (_options.Value.SessionIdHeaderName is { } header)
        {
            context.Response.Headers[header] = token;
        }

        if (SentHeader(context) is null)
        {
            context.Response.Cookies.Append(Builder.Name!, token, Builder.Build(context));
        }

        NoStore(context.Response);
    }

    /// <summary>The cookie value that carries <paramref name="secret"/>.</summary>
    public string Protect(string secret) => _protector.Protect(secret);

    public void Delete(HttpContext context)
    {
        if (_options.Value.SessionIdHeaderName is { } header)
        {
            context.Response.Headers[header] = string.Empty; // as Spring Session does: the client drops its token
        }

        if (SentHeader(context) is null)
        {
            context.Response.Cookies.Delete(Builder.Name!, Builder.Build(context));
        }

        NoStore(context.Response);
    }

    /// <summary>The session header's value, when the option is on and the request sent a non-empty one.</summary>
    private string? SentHeader(HttpContext context) =>
        _options.Value.SessionIdHeaderName is { } header && context.Request.Headers[header].ToString() is { Length: > 0 } value ? value : null;

    // A response that carries a session cookie must never be served from a shared cache to someone else.
    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
    }
}
