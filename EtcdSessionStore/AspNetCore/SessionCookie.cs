using System.Globalization;
using System.Security.Cryptography;
using Etcd.AspNetCore.Session.DataProtection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// Reads and writes the session cookie, and the session header when <see cref="EtcdSessionOptions.SessionTokenHeaderName"/>
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
    private readonly EtcdXmlRepository? _keyRing;
    private readonly UnprotectedTokens? _known;

    /// <param name="dataProtection">Protects the token.</param>
    /// <param name="options">The cookie and header settings.</param>
    /// <param name="keyRings">The key ring in etcd, when the app keeps it there (<c>PersistKeysToEtcd</c>).</param>
    /// <param name="known">The tokens this instance unprotected lately (with the near cache on); <see langword="null"/>: unprotect every time.</param>
    public SessionCookie(IDataProtectionProvider dataProtection, IOptions<EtcdSessionOptions> options, IEnumerable<EtcdXmlRepository> keyRings, UnprotectedTokens? known)
    {
        _protector = dataProtection.CreateProtector(Purpose);
        _options = options;
        _keyRing = keyRings.FirstOrDefault();
        _known = known;
    }

    private CookieBuilder Builder => _options.Value.Cookie;

    /// <summary>
    /// The token the request presented, if any, and the secret key it carries if it could be unprotected. With the key
    /// ring in etcd not read yet, it is read first (asynchronously); if that fails, the token can be neither trusted nor
    /// rejected, and <see cref="PresentedToken.KeyRingFailure"/> says why.
    /// </summary>
    public async ValueTask<PresentedToken> ReadAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var value = SentHeader(context) ?? context.Request.Cookies[Builder.Name!];
        if (string.IsNullOrEmpty(value))
        {
            return default;
        }

        if (await EnsureKeyRingAsync(cancellationToken).ConfigureAwait(false) is { } failure)
        {
            return new PresentedToken(true, null, failure);
        }

        var (protectedKey, revision) = Split(value);
        if (_known is not null && _known.TryGet(protectedKey, out var known))
        {
            return new PresentedToken(true, known, null, revision, protectedKey);
        }

        try
        {
            var secret = _protector.Unprotect(protectedKey);
            if (string.IsNullOrEmpty(secret))
            {
                return new PresentedToken(true, null, null);
            }

            _known?.Add(protectedKey, secret);
            return new PresentedToken(true, secret, null, revision, protectedKey);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            // Forged, corrupted, or protected with a key this instance's key ring does not hold.
            return new PresentedToken(true, null, null);
        }
    }

    /// <summary>Sends the token for <paramref name="secret"/>.</summary>
    /// <exception cref="EtcdSessionException">The key ring in etcd could not be read, so no token can be made.</exception>
    /// <param name="context">The request.</param>
    /// <param name="secret">The secret session key.</param>
    /// <param name="revision">The revision of the session's last write, for read-your-writes on other instances (0: none).</param>
    /// <param name="maxAge">For a session with an idle timeout of its own ("remember me"): a persistent cookie that lives that long.</param>
    /// <param name="presented">The token the request came with: its protected key is reused when it carries <paramref name="secret"/>.</param>
    /// <param name="cancellationToken">Stops waiting for the key ring.</param>
    public async ValueTask AppendAsync(HttpContext context, string secret, long revision, TimeSpan? maxAge, PresentedToken presented, CancellationToken cancellationToken)
    {
        if (await EnsureKeyRingAsync(cancellationToken).ConfigureAwait(false) is { } failure)
        {
            throw failure;
        }

        // Only the revision changed (a write to the session the client already holds): no new encryption needed.
        var protectedKey = presented.ProtectedKey is { } same && string.Equals(presented.Secret, secret, StringComparison.Ordinal)
            ? same
            : ProtectAndRemember(secret);
        var token = WithRevision(protectedKey, revision);
        if (_options.Value.SessionTokenHeaderName is { } header)
        {
            context.Response.Headers[header] = token;
        }

        if (SentHeader(context) is null)
        {
            var options = Builder.Build(context);
            options.MaxAge = maxAge ?? options.MaxAge;
            context.Response.Cookies.Append(Builder.Name!, token, options);
        }

        NoStore(context.Response);
    }

    private ValueTask<EtcdSessionException?> EnsureKeyRingAsync(CancellationToken cancellationToken) =>
        EtcdXmlRepository.EnsureLoadedAsync(_keyRing, cancellationToken);

    /// <summary>The token that carries <paramref name="secret"/> and, when known, the revision of the session's last write.</summary>
    public string Protect(string secret, long revision = 0) => WithRevision(ProtectAndRemember(secret), revision);

    private string ProtectAndRemember(string secret)
    {
        var protectedKey = _protector.Protect(secret);
        _known?.Add(protectedKey, secret);
        return protectedKey;
    }

    /// <remarks>
    /// A token is <c>protected</c> or <c>protected.revision</c>: the secret key is protected; the revision is not, because
    /// it is no secret and needs no integrity (a client that changes it only changes how fresh a copy it asks of the
    /// near cache for itself). Data Protection's output is base64url, which has no '.'.
    /// </remarks>
    private static string WithRevision(string protectedKey, long revision) =>
        revision > 0 ? string.Create(CultureInfo.InvariantCulture, $"{protectedKey}.{revision}") : protectedKey;

    private static (string ProtectedKey, long Revision) Split(string token)
    {
        var dot = token.LastIndexOf('.');
        return dot > 0 && long.TryParse(token.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? (token[..dot], revision)
            : (token, 0);
    }

    public void Delete(HttpContext context)
    {
        if (_options.Value.SessionTokenHeaderName is { } header)
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
        _options.Value.SessionTokenHeaderName is { } header && context.Request.Headers[header].ToString() is { Length: > 0 } value ? value : null;

    // A response that carries a session cookie must never be served from a shared cache to someone else.
    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
    }
}

/// <summary>What the request's session cookie (or header) says.</summary>
/// <param name="Present">The request sent a token.</param>
/// <param name="Secret">The secret session key in it, when it could be unprotected.</param>
/// <param name="KeyRingFailure">Why the token could not be checked at all (the key ring in etcd is unreadable).</param>
/// <param name="Revision">The revision of the session's last write the client was told of (0: unknown).</param>
/// <param name="ProtectedKey">The token's protected secret key, when it could be unprotected.</param>
internal readonly record struct PresentedToken(bool Present, string? Secret, EtcdSessionException? KeyRingFailure, long Revision = 0, string? ProtectedKey = null);
