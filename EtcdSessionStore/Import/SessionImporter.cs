using System.Security.Cryptography;
using System.Text;
using Etcd.AspNetCore.Session.DataProtection;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Import;

/// <summary>
/// <see cref="EtcdSessionOptions.Import"/>: turns the stock session cookie of a request that has no cookie of this store
/// into a new etcd session holding the old session's items, under a new secret key (the old key is never adopted).
/// <para>
/// Two requests with one stock cookie (two tabs) end in one session: the new session is created in one transaction
/// with a claim, <c>{KeyPrefix}x/{SHA-256("import/" + old key)}</c>, guarded on the claim being absent. The claim holds
/// the new secret protected with Data Protection (never in the clear: etcd's readers must not take sessions over) and
/// lives <see cref="SessionImportOptions.ClaimLifetime"/>; the request that loses the race, or comes during that time
/// after the winner removed the old entry, unprotects it and gets the same session. The claim is outside the near
/// cache's watched range (<c>hb/</c> to <c>s/</c>), so imports cost the watch nothing.
/// </para>
/// </summary>
internal sealed partial class SessionImporter
{
    /// <summary>The stock middleware's Data Protection purpose for its cookie: <c>nameof(SessionMiddleware)</c>.</summary>
    private const string StockCookiePurpose = "SessionMiddleware";

    /// <summary>The length of a stock session key (a GUID's "D" form); the stock middleware rejects any other.</summary>
    private const int StockKeyLength = 36;

    // Changing it makes claims written before unreadable: a second request in that minute gets a fresh session.
    private const string ClaimPurpose = "Etcd.AspNetCore.Session.Import.Claim.v1";

    private readonly IOptions<EtcdSessionOptions> _options;
    private readonly IDistributedCache? _previous;
    private readonly IDataProtector _stockCookie;
    private readonly IDataProtector _claims;
    private readonly EtcdXmlRepository? _keyRing;
    private readonly EtcdGateway _gateway;
    private readonly ExpiryLeasePool _leases;
    private readonly SessionCodec _codec;
    private readonly TimeProvider _time;
    private readonly ImportMetrics _metrics;
    private readonly ILogger _logger;

    /// <param name="options">The store's settings, with <see cref="EtcdSessionOptions.Import"/>.</param>
    /// <param name="previous">The app's <see cref="IDistributedCache"/>, the previous store; <see langword="null"/> when none is registered (then the import is off, and start-up validation says so).</param>
    /// <param name="dataProtection">The app's key ring: the one that protected the stock cookies.</param>
    /// <param name="keyRings">The key ring in etcd, when the app keeps it there (<c>PersistKeysToEtcd</c>).</param>
    /// <param name="gateway">etcd.</param>
    /// <param name="leases">The expiry leases of the new session and of the claim.</param>
    /// <param name="codec">Writes the new session.</param>
    /// <param name="time">The clock of <see cref="SessionImportOptions.Until"/> and of the new session.</param>
    /// <param name="metrics">Counts imports by result.</param>
    /// <param name="logger">The import's log.</param>
    public SessionImporter(IOptions<EtcdSessionOptions> options, IDistributedCache? previous, IDataProtectionProvider dataProtection, IEnumerable<EtcdXmlRepository> keyRings,
        EtcdGateway gateway, ExpiryLeasePool leases, SessionCodec codec, TimeProvider time, ImportMetrics metrics, ILogger<SessionImporter> logger)
    {
        _options = options;
        _previous = previous;
        _stockCookie = dataProtection.CreateProtector(StockCookiePurpose);
        _claims = dataProtection.CreateProtector(ClaimPurpose);
        _keyRing = keyRings.FirstOrDefault();
        _gateway = gateway;
        _leases = leases;
        _codec = codec;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// For a request without a cookie of this store: the secret key of the session its stock cookie's session now lives
    /// in, if it had one that could be imported (or that a concurrent request imported a moment ago). The stock cookie
    /// is expired with the response, unless the previous store or etcd failed (<see cref="ImportedSession.Failure"/>):
    /// then the next request tries again.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the client left).</exception>
    public async ValueTask<ImportedSession> ImportAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var options = _options.Value;
        var import = options.Import;
        if (_previous is null || !import.IsOnAt(_time.GetUtcNow()) || context.Request.Cookies[import.CookieName] is not { Length: > 0 } cookie)
        {
            return default;
        }

        if (await EtcdXmlRepository.EnsureLoadedAsync(_keyRing, cancellationToken).ConfigureAwait(false) is { } keyRingFailure)
        {
            Log.ImportFailed(_logger, keyRingFailure.Kind, keyRingFailure);
            return new ImportedSession(null, keyRingFailure);
        }

        if (UnprotectStockCookie(cookie) is not { } oldKey)
        {
            return Finish(context, ImportResult.Rejected, null);
        }

        // One deadline for the whole import (the old store's read, the leases, the transaction), as a commit has one.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.IOTimeout);
        try
        {
            return await ImportAsync(context, oldKey, options, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var timeout = new EtcdSessionException(EtcdSessionErrorKind.Timeout,
                $"The import did not finish within IOTimeout ({options.IOTimeout}); the session was not imported.", ex);
            Log.ImportFailed(_logger, timeout.Kind, timeout);
            return new ImportedSession(null, timeout);
        }
        catch (EtcdSessionException ex)
        {
            Log.ImportFailed(_logger, ex.Kind, ex);
            return new ImportedSession(null, ex);
        }
    }

    private async Task<ImportedSession> ImportAsync(HttpContext context, string oldKey, EtcdSessionOptions options, CancellationToken cancellationToken)
    {
        var claimKey = ClaimKey(options.KeyPrefix, oldKey);
        var value = await ReadPreviousAsync(oldKey, cancellationToken).ConfigureAwait(false);
        if (value is null)
        {
            // Gone or expired; or imported a moment ago by a request with the same cookie, which removed it: its claim says.
            var claim = await _gateway.GetAsync(claimKey, cancellationToken).ConfigureAwait(false);
            return claim is null ? Finish(context, ImportResult.Missing, null) : Join(context, OpenClaim(claimKey, claim));
        }

        Dictionary<string, byte[]> items;
        SessionHeader header;
        ByteString stored;
        var now = _time.GetUtcNow();
        try
        {
            items = StockSessionFormat.Decode(value);
            header = new SessionHeader(SessionKeys.NewPublicId(), now, options.IdleTimeout, now + options.AbsoluteTimeout, _codec.WriterName);
            stored = _codec.Encode(header, items);
        }
        catch (Exception ex) when (ex is FormatException || ex is EtcdSessionException { Kind: EtcdSessionErrorKind.TooLarge })
        {
            Log.Corrupt(_logger, ex.Message);
            return Finish(context, ImportResult.Corrupt, null);
        }

        var secret = SessionKeys.NewSecret();
        var storageKey = SessionKeys.StorageKey(options.KeyPrefix, secret);
        var sessionLease = await _leases.AcquireAsync(SessionDeadline.Next(now, options.IdleTimeout, header.AbsoluteExpiry), cancellationToken).ConfigureAwait(false);
        var claimLease = await _leases.AcquireAsync(now + options.Import.ClaimLifetime, cancellationToken).ConfigureAwait(false);
        var protectedSecret = _claims.CreateProtector(claimKey).Protect(Encoding.UTF8.GetBytes(secret));
        var response = await _gateway.TxnAsync(SessionTransactions.CreateWithClaim(storageKey, stored, sessionLease, claimKey, protectedSecret, claimLease), cancellationToken).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            var claim = SessionTransactions.ReadBack(response);
            if (claim is null)
            {
                return Finish(context, ImportResult.Missing, null); // only the new key's guard failed: a 256-bit collision
            }

            if (OpenClaim(claimKey, claim) is var claimed && !string.Equals(claimed, secret, StringComparison.Ordinal))
            {
                return Join(context, claimed); // another request with the same cookie imported it first
            }

            // This request's own transaction: applied, its reply lost, and retried by the gateway.
        }

        Log.Imported(_logger, header.Id, items.Count);
        if (options.Import.DeleteImported)
        {
            await RemovePreviousAsync(oldKey, header.Id, options.IOTimeout).ConfigureAwait(false);
        }

        return Finish(context, ImportResult.Imported, secret);
    }

    /// <summary>The session a concurrent request imported (<paramref name="secret"/>, from its claim); a fresh one if the claim did not open.</summary>
    private ImportedSession Join(HttpContext context, string? secret)
    {
        if (secret is not null)
        {
            Log.Joined(_logger);
        }

        return Finish(context, result: null, secret);
    }

    /// <summary>The secret a claim holds; <see langword="null"/> (logged) when it does not unprotect.</summary>
    private string? OpenClaim(string claimKey, Mvccpb.KeyValue claim)
    {
        try
        {
            return Encoding.UTF8.GetString(_claims.CreateProtector(claimKey).Unprotect(claim.Value.ToByteArray()));
        }
        catch (CryptographicException ex)
        {
            Log.ClaimUnreadable(_logger, ex);
            return null;
        }
    }

    /// <summary>Counts and logs the result, and expires the stock cookie with the response.</summary>
    private ImportedSession Finish(HttpContext context, ImportResult? result, string? secret)
    {
        if (result is { } counted)
        {
            _metrics.Counted(counted);
            switch (counted)
            {
                case ImportResult.Missing:
                    Log.Missing(_logger);
                    break;
                case ImportResult.Rejected:
                    Log.CookieRejected(_logger);
                    break;
            }
        }

        ExpireStockCookie(context);
        return new ImportedSession(secret, null);
    }

    /// <summary>
    /// Expires the stock cookie when the response starts, unless it is a server error (the store failing after the
    /// import, say): the browser keeps the cookie, and its next request finds the claim or imports again.
    /// </summary>
    private void ExpireStockCookie(HttpContext context)
    {
        var import = _options.Value.Import;
        context.Response.OnStarting(static state =>
        {
            var (context, import) = ((HttpContext, SessionImportOptions))state;
            if (context.Response.StatusCode < StatusCodes.Status500InternalServerError)
            {
                context.Response.Cookies.Delete(import.CookieName, new CookieOptions
                {
                    Path = import.CookiePath,
                    Domain = import.CookieDomain,
                    HttpOnly = true,
                    SameSite = SameSiteMode.Lax,
                    Secure = context.Request.IsHttps,
                });
            }

            return Task.CompletedTask;
        }, (context, import));
    }

    /// <summary>The stock session key in the cookie, as the stock middleware reads it; <see langword="null"/> when it is not one.</summary>
    private string? UnprotectStockCookie(string cookie)
    {
        try
        {
            // The stock cookie is base64 with its padding trimmed (CookieProtection.Protect).
            var padded = cookie.PadRight(cookie.Length + (4 - cookie.Length % 4) % 4, '=');
            var key = Encoding.UTF8.GetString(_stockCookie.Unprotect(Convert.FromBase64String(padded)));
            return key.Length == StockKeyLength ? key : null;
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            // Forged, corrupted, or protected with a key this app's key ring does not hold.
            return null;
        }
    }

    /// <summary>The old session's stored value; <see langword="null"/> when the previous store has none (gone or expired).</summary>
    /// <exception cref="EtcdSessionException">The previous store failed.</exception>
    /// <exception cref="OperationCanceledException">The import's deadline passed, or the request was aborted.</exception>
    private async Task<byte[]?> ReadPreviousAsync(string oldKey, CancellationToken cancellationToken)
    {
        try
        {
            return await _previous!.GetAsync(oldKey, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Any IDistributedCache may be behind it, each with exceptions of its own.
            throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable,
                $"The previous session store ({_previous!.GetType().Name}) could not be read: {ex.Message}; the session was not imported.", ex);
        }
    }

    /// <summary>Removes the imported entry; a failure only leaves it to expire there (the claim still answers for a while).</summary>
    private async Task RemovePreviousAsync(string oldKey, string sessionId, TimeSpan ioTimeout)
    {
        // Not bound to the request: the session is imported, and the entry should go even if the client left.
        using var timeout = new CancellationTokenSource(ioTimeout);
        try
        {
            await _previous!.RemoveAsync(oldKey, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.PreviousNotRemoved(_logger, sessionId, ex);
        }
    }

    /// <summary>The claim of an old session key: one-way, so that etcd's readers learn nothing of the stock cookies.</summary>
    internal static string ClaimKey(string keyPrefix, string oldKey) => keyPrefix + "x/" + SessionKeys.Hash("import/" + oldKey);
}
