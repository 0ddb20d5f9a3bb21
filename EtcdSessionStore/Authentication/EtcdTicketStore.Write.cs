using Etcd.AspNetCore.Session.AspNetCore;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Format;
using Google.Protobuf;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Authentication;

// Writing a ticket: one guarded transaction, on the lease of its expiry.
internal sealed partial class EtcdTicketStore
{
    /// <summary>
    /// Puts the ticket and its index entry on the expiry lease of the ticket, in one transaction: a renewed ticket
    /// only if it and its entry still exist (the entry keeps its value and moves to the new lease); otherwise over
    /// <paramref name="replacing"/> (<see langword="null"/> for a renewal) only if that is still the stored version
    /// (<see cref="StoredVersion.None"/>: only if the key is free), with the entry of the user it was stored for
    /// removed and the new one put.
    /// </summary>
    /// <returns><see langword="false"/> when the guard failed: nothing was written.</returns>
    private async Task<bool> WriteAsync(string storageKey, TicketHeader header, AuthenticationTicket ticket, StoredVersion? replacing, CancellationToken cancellationToken)
    {
        var value = ByteString.CopyFrom(TicketEnvelope.Encode(header.Id, header.User, _protector.Protect(TicketSerializer.Default.Serialize(ticket))));
        var expiresAt = ticket.Properties.ExpiresUtc ?? _time.GetUtcNow() + _lifetime;
        var budget = RetryBudget.Start(_options.IOTimeout);
        while (true)
        {
            var lease = await _leases.AcquireAsync(expiresAt, cancellationToken).ConfigureAwait(false);
            var entryKey = header.User is null ? null : UserTicketIndex.EntryKey(KeyPrefix, header.User, header.Id);
            var txn = replacing is { } stored
                ? KeyTransactions.ReplaceTicket(storageKey, value, lease, stored.ModRevision,
                    stored.User is not null && !string.Equals(stored.User, header.User, StringComparison.Ordinal) ? UserTicketIndex.EntryKey(KeyPrefix, stored.User, header.Id) : null,
                    entryKey is null ? null : (entryKey, ByteString.CopyFrom(UserTicketIndex.Encode(header, storageKey))))
                : KeyTransactions.RenewTicket(storageKey, value, lease, entryKey);

            try
            {
                return (await _gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false)).Succeeded;
            }
            catch (EtcdSessionException ex) when (EtcdGateway.IsLeaseNotFound(ex.InnerException) && !budget.IsSpent)
            {
                _leases.Forget(lease); // revoked behind our back: grant it again
            }
        }
    }

    /// <summary>A stored ticket's etcd version and the user it is indexed under; <see cref="None"/> where none is stored.</summary>
    private readonly record struct StoredVersion(long ModRevision, string? User)
    {
        public static StoredVersion None => default;
    }

    private static string? UserInHeader(Mvccpb.KeyValue kv)
    {
        try
        {
            return TicketEnvelope.Decode(kv.Value.Memory).User;
        }
        catch (FormatException)
        {
            return null; // not ours to read: delete the ticket; an entry, if any, goes with its lease
        }
    }

    /// <summary>The user a ticket is indexed under: its principal's name, when it has one that fits the index.</summary>
    private static string? UserOf(AuthenticationTicket ticket) =>
        ticket.Principal.Identity?.Name is var name && UserSessionIndex.IsIndexable(name) ? name : null;

    /// <summary>The public id of the request's etcd session, when the request has one that is available.</summary>
    private static string? SessionIdOf(HttpContext? context) =>
        context?.Features.Get<EtcdSessionFeature>()?.EtcdSession is { IsAvailable: true } session ? session.Id : null;
}
