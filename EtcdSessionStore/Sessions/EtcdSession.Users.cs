using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Users;
using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Sessions;

// Binding a session to a user, and keeping its entry in the user index in step with the session:
// every write of a bound session (create, update, touch, rotate, destroy) writes or deletes the entry
// in the same transaction and on the same lease. See docs/sessions-by-user.md.
internal sealed partial class EtcdSession
{
    private UserBinding? _binding;
    private bool _bindingPending;

    /// <summary>The user the session is bound to, if any.</summary>
    internal string? UserName => _stored?.Header.User ?? _binding?.User;

    /// <summary>
    /// Rotates the secret key and binds the session to <paramref name="user"/> in the same transaction
    /// (call it on sign-in). A session not stored yet is written bound at its first commit.
    /// </summary>
    /// <returns>The new secret session key.</returns>
    internal Task<string> BindUserAsync(string user, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        UserSessionIndex.Validate(user, metadata);
        var copy = metadata is null ? null : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        return RotateAsync(new UserBinding(user, copy), cancellationToken);
    }

    private (SessionHeader Header, ByteString Value) Rebind(UserBinding binding)
    {
        var header = _stored!.Header with { User = binding.User, Metadata = binding.Metadata };
        return (header, _backend.Encode(header, _items));
    }

    private void AddIndexWrite(TxnRequest txn, SessionHeader header, string storageKey, long lease)
    {
        if (header.User is not null)
        {
            txn.Success.Add(UserSessionIndex.Put(_backend.Options.KeyPrefix, header, storageKey, _backend.Time.GetUtcNow(), lease));
        }
    }

    private void AddIndexDeleteOnRebind(TxnRequest txn, SessionHeader header)
    {
        if (_stored?.Header.User is { } previous && !string.Equals(previous, header.User, StringComparison.Ordinal))
        {
            txn.Success.Add(UserSessionIndex.Delete(_backend.Options.KeyPrefix, previous, _stored.Header.Id));
        }
    }

    /// <summary>
    /// Deletes the session and its index entry together. Guarded on the revision this request saw, so that a
    /// binding written meanwhile by another request is read back and its entry deleted too.
    /// </summary>
    private async Task DeleteWithIndexAsync(CancellationToken cancellationToken)
    {
        var header = _stored?.Header;
        if (_stored is not null)
        {
            var guarded = SessionRemoval.Guarded(_backend.Options.KeyPrefix, _storageKey, _stored.ModRevision, header!);
            var response = await _backend.Gateway.TxnAsync(guarded, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                return;
            }

            var current = Storage.SessionTransactions.ReadBack(response);
            header = current is null ? header : TryDecodeHeader(current) ?? header;
        }

        await _backend.Gateway.TxnAsync(SessionRemoval.Unguarded(_backend.Options.KeyPrefix, _storageKey, header), cancellationToken).ConfigureAwait(false);
    }

    private SessionHeader? TryDecodeHeader(Mvccpb.KeyValue kv)
    {
        try
        {
            return _backend.Decode(kv).Stored.Header;
        }
        catch (EtcdSessionException)
        {
            return null;
        }
    }

    private sealed record UserBinding(string User, IReadOnlyDictionary<string, string>? Metadata);
}
