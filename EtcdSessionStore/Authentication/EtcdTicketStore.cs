using System.Security.Cryptography;
using Etcd.AspNetCore.Session.AspNetCore;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Format;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Authentication;

/// <summary>
/// Cookie authentication's <see cref="ITicketStore"/> in etcd: the sign-in cookie carries only a random 256-bit
/// reference; the ticket lives under <c>{KeyPrefix}t/{SHA-256(reference)}</c>, protected with Data Protection,
/// on the expiry lease of its <see cref="AuthenticationProperties.ExpiresUtc"/>, with an entry in the ticket
/// index of its user (<see cref="UserTicketIndex"/>) so that <see cref="EtcdSessionDirectory"/> can end it.
/// See docs/security.md.
/// </summary>
internal sealed partial class EtcdTicketStore : ITicketStore
{
    /// <summary>The Data Protection purpose of stored tickets; the scheme name is a sub-purpose.</summary>
    public const string ProtectorPurpose = "Etcd.AspNetCore.Session.Ticket.v1";

    private readonly EtcdGateway _gateway;
    private readonly ExpiryLeasePool _leases;
    private readonly EtcdSessionOptions _options;
    private readonly TimeProvider _time;
    private readonly IDataProtector _protector;
    private readonly TimeSpan _lifetime;
    private readonly ILogger _logger;

    /// <param name="gateway">The session store's etcd access.</param>
    /// <param name="leases">The session store's expiry leases (tickets share them).</param>
    /// <param name="options">The session store's settings (key prefix, IOTimeout).</param>
    /// <param name="time">The clock that dates tickets.</param>
    /// <param name="protector">Protects the serialized tickets.</param>
    /// <param name="lifetime">The expiry of a ticket that has none (the scheme's <c>ExpireTimeSpan</c>).</param>
    /// <param name="logger">Where unreadable tickets and failed calls are logged.</param>
    public EtcdTicketStore(EtcdGateway gateway, ExpiryLeasePool leases, EtcdSessionOptions options, TimeProvider time,
        IDataProtector protector, TimeSpan lifetime, ILogger logger)
    {
        _gateway = gateway;
        _leases = leases;
        _options = options;
        _time = time;
        _protector = protector;
        _lifetime = lifetime;
        _logger = logger;
    }

    private string KeyPrefix => _options.KeyPrefix;

    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreCoreAsync(ticket, null, CancellationToken.None);

    public Task<string> StoreAsync(AuthenticationTicket ticket, CancellationToken cancellationToken) => StoreCoreAsync(ticket, null, cancellationToken);

    public Task<string> StoreAsync(AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken) =>
        StoreCoreAsync(ticket, httpContext, cancellationToken);

    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, CancellationToken.None);

    public Task RenewAsync(string key, AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken) =>
        SessionAwareAuthenticationService.IsSigningIn(httpContext)
            ? SignInOverAsync(key, ticket, httpContext, cancellationToken)
            : RenewAsync(key, ticket, cancellationToken);

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, CancellationToken.None);

    public Task<AuthenticationTicket?> RetrieveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken) =>
        RetrieveAsync(key, cancellationToken);

    public Task RemoveAsync(string key) => RemoveAsync(key, CancellationToken.None);

    public Task RemoveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken) => RemoveAsync(key, cancellationToken);

    /// <summary>Stores a new ticket (sign-in). Fails with <see cref="EtcdSessionException"/>: the user is then not signed in.</summary>
    private async Task<string> StoreCoreAsync(AuthenticationTicket ticket, HttpContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var reference = SessionKeys.NewSecret();
        var header = new TicketHeader(SessionKeys.TicketId(reference), UserOf(ticket), SessionIdOf(context), _time.GetUtcNow());
        var storageKey = SessionKeys.TicketStorageKey(KeyPrefix, reference);
        await WriteAsync(storageKey, header, ticket, StoredVersion.None, cancellationToken).ConfigureAwait(false);
        Log.TicketStored(_logger, header.Id);
        return reference;
    }

    /// <summary>
    /// A sign-in on a request whose cookie already named a ticket: the cookie handler keeps the cookie's reference and
    /// calls <c>RenewAsync</c>, but this is a new sign-in, maybe of another user, and the reference's ticket may be gone
    /// (revoked, signed out elsewhere). The new ticket replaces whatever is stored under the reference, and the index
    /// follows in the same transaction (the earlier user's entry removed, the new user's put). Fails with
    /// <see cref="EtcdSessionException"/>, so the sign-in fails rather than answer as if stored (the browser keeps its
    /// earlier sign-in).
    /// </summary>
    private async Task SignInOverAsync(string reference, AuthenticationTicket ticket, HttpContext? context, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentNullException.ThrowIfNull(ticket);
        var header = new TicketHeader(SessionKeys.TicketId(reference), UserOf(ticket), SessionIdOf(context), _time.GetUtcNow());
        await ReplaceAsync(SessionKeys.TicketStorageKey(KeyPrefix, reference), header, ticket, onlyOverAnotherUser: false, cancellationToken).ConfigureAwait(false);
        Log.TicketStored(_logger, header.Id);
    }

    /// <summary>
    /// Writes <paramref name="ticket"/> over the version stored under <paramref name="storageKey"/> (or where none is),
    /// guarded on that version, reading again while a concurrent write wins, until <c>IOTimeout</c> is spent. With
    /// <paramref name="onlyOverAnotherUser"/>, only over a stored ticket of another user than the new one.
    /// </summary>
    /// <returns><see langword="false"/> when <paramref name="onlyOverAnotherUser"/> found no such ticket: nothing was written.</returns>
    /// <exception cref="EtcdSessionException">etcd failed, or concurrent writes kept winning (<see cref="EtcdSessionErrorKind.Conflict"/>).</exception>
    private Task<bool> ReplaceAsync(string storageKey, TicketHeader header, AuthenticationTicket ticket, bool onlyOverAnotherUser, CancellationToken cancellationToken) =>
        RetryBudget.RetryConflictsAsync<bool>(RetryBudget.Start(_options.IOTimeout), async _ =>
        {
            var stored = await _gateway.GetAsync(storageKey, cancellationToken).ConfigureAwait(false);
            var version = stored is null ? StoredVersion.None : new StoredVersion(stored.ModRevision, UserInHeader(stored));
            if (onlyOverAnotherUser && (stored is null || string.Equals(version.User, header.User, StringComparison.Ordinal)))
            {
                return (true, false);
            }

            return await WriteAsync(storageKey, header, ticket, version, cancellationToken).ConfigureAwait(false) ? (true, true) : default;
        }, () => throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
            $"Sign-in ticket {header.Id} kept changing while a sign-in replaced it; the sign-in was not stored."), cancellationToken);

    /// <summary>
    /// Sliding expiration: one transaction puts the renewed ticket on its new expiry lease and moves its index
    /// entry there, both only if the ticket still exists, so that a renewal never brings back a ticket that was
    /// revoked or signed out meanwhile. A failure leaves the ticket at its previous expiry (logged); the
    /// response that renews is not failed for it. A renewal whose ticket names another user than the stored one
    /// is a sign-in over another user's (sliding expiration never changes the user; a sign-in made outside
    /// <c>IAuthenticationService</c> comes here): it replaces the stored ticket, and fails if it cannot.
    /// </summary>
    public async Task RenewAsync(string key, AuthenticationTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var reference = key; // what the sign-in cookie carries
        ArgumentNullException.ThrowIfNull(ticket);
        var header = new TicketHeader(SessionKeys.TicketId(reference), UserOf(ticket), SessionId: null, _time.GetUtcNow());
        var storageKey = SessionKeys.TicketStorageKey(KeyPrefix, reference);
        try
        {
            if (await WriteAsync(storageKey, header, ticket, replacing: null, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (EtcdSessionException ex)
        {
            Log.TicketRenewFailed(_logger, header.Id, ex.Kind, ex);
            return;
        }

        // The guard failed: the ticket is gone, or it is indexed under another user than this one.
        if (await ReplaceAsync(storageKey, header, ticket, onlyOverAnotherUser: true, cancellationToken).ConfigureAwait(false))
        {
            Log.TicketStored(_logger, header.Id);
        }
        else
        {
            Log.TicketGoneOnRenew(_logger, header.Id);
        }
    }

    /// <summary>
    /// Reads a ticket. Fails closed: a ticket that is missing, past its deadline, unreadable, or that etcd could
    /// not deliver (unreachable, timed out) gives <see langword="null"/>, and the request is anonymous.
    /// </summary>
    public async Task<AuthenticationTicket?> RetrieveAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var reference = key; // what the sign-in cookie carries
        Mvccpb.KeyValue? kv;
        try
        {
            kv = await _gateway.GetAsync(SessionKeys.TicketStorageKey(KeyPrefix, reference), cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdSessionException ex)
        {
            Log.TicketLoadFailed(_logger, ex.Kind, ex);
            return null;
        }

        if (kv is null)
        {
            return null;
        }

        // etcd resets lease TTLs on a leader change: the deadline in the lease id is enforced here too.
        if (SessionDeadline.IsPast(SessionDeadline.Of(kv.Lease, absoluteExpiry: null), _time.GetUtcNow()))
        {
            Log.TicketExpiredOnRead(_logger, SessionKeys.TicketId(reference));
            return null;
        }

        try
        {
            var (id, user, protectedTicket) = TicketEnvelope.Decode(kv.Value.Memory);
            var ticket = TicketSerializer.Default.Deserialize(_protector.Unprotect(protectedTicket.ToArray()));
            if (ticket is null || !string.Equals(UserOf(ticket), user, StringComparison.Ordinal) || id != SessionKeys.TicketId(reference))
            {
                throw new FormatException("The stored ticket does not match its header.");
            }

            return ticket;
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException or EndOfStreamException or IOException or ArgumentException or InvalidOperationException)
        {
            Log.TicketUnreadable(_logger, SessionKeys.TicketId(reference), ex.Message);
            return null;
        }
    }

    /// <summary>Deletes a ticket and its index entry (sign-out). Fails with <see cref="EtcdSessionException"/>: the sign-out is then not done.</summary>
    public async Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var reference = key; // what the sign-in cookie carries
        var storageKey = SessionKeys.TicketStorageKey(KeyPrefix, reference);
        var kv = await _gateway.GetAsync(storageKey, cancellationToken).ConfigureAwait(false);
        if (kv is null)
        {
            return;
        }

        string[] keys = UserInHeader(kv) is { } user ? [storageKey, UserTicketIndex.EntryKey(KeyPrefix, user, SessionKeys.TicketId(reference))] : [storageKey];
        await _gateway.TxnAsync(KeyTransactions.Delete(keys), cancellationToken).ConfigureAwait(false);
        Log.TicketRemoved(_logger, SessionKeys.TicketId(reference));
    }
}
