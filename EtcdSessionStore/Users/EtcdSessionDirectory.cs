using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Users;
using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Lists and revokes the live sessions of a user ("active sessions", "sign out everywhere"). Only sessions
/// bound to a user are listed: see <see cref="EtcdSessionExtensions.RegenerateIdAsync(Microsoft.AspNetCore.Http.ISession, string, IReadOnlyDictionary{string, string}?, CancellationToken)"/>.
/// Registered by <c>AddEtcdSession</c>; works from any app instance.
/// </summary>
public sealed partial class EtcdSessionDirectory
{
    // Each revoke takes one compare and two deletes: 40 stay under etcd's default of 128 per transaction side.
    private const int RevokeBatchSize = 40;

    private readonly SessionBackend _backend;

    internal EtcdSessionDirectory(SessionBackend backend)
    {
        _backend = backend;
    }

    /// <summary>The live sessions of <paramref name="userName"/>, most recently seen first.</summary>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public async Task<IReadOnlyList<UserSession>> ListAsync(string userName, CancellationToken cancellationToken = default)
    {
        var entries = await EntriesAsync(userName, cancellationToken).ConfigureAwait(false);
        var now = _backend.Time.GetUtcNow();
        return [.. entries.Select(e => e.Session).Where(s => s.ExpiresAt is null || s.ExpiresAt > now).OrderByDescending(s => s.LastSeen)];
    }

    /// <summary>Destroys one session of <paramref name="userName"/>; its next request starts a fresh, anonymous session.</summary>
    /// <returns><see langword="true"/> if the session existed and was destroyed.</returns>
    /// <exception cref="EtcdSessionException">etcd failed; the session may still exist.</exception>
    public async Task<bool> RevokeAsync(string userName, string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var entryKey = UserSessionIndex.EntryKey(_backend.Options.KeyPrefix, userName, sessionId);
        var kv = await _backend.Gateway.GetAsync(entryKey, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; kv is not null && attempt < _backend.Options.MaxCommitAttempts; attempt++)
        {
            if (UserSessionIndex.Decode(kv) is not { } entry)
            {
                return false;
            }

            var txn = new TxnRequest();
            SessionRemoval.AddRevoke(txn, entry);
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(entryKey) } });
            var response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _backend.Metrics?.Destroyed(1);
                return true;
            }

            kv = SessionTransactions.ReadBack(response); // the session moved (rotation, touch) meanwhile: follow it
        }

        return false;
    }

    /// <summary>
    /// Destroys every session of <paramref name="userName"/> ("sign out everywhere"), except
    /// <paramref name="exceptSessionId"/> when given. Each browser of the user gets a fresh, anonymous
    /// session on its next request.
    /// </summary>
    /// <returns>How many sessions were destroyed.</returns>
    /// <exception cref="EtcdSessionException">etcd failed; some sessions may still exist.</exception>
    public async Task<int> RevokeAllAsync(string userName, string? exceptSessionId = null, CancellationToken cancellationToken = default)
    {
        var entries = (await EntriesAsync(userName, cancellationToken).ConfigureAwait(false))
            .Where(e => !string.Equals(e.Session.SessionId, exceptSessionId, StringComparison.Ordinal))
            .ToList();
        var revoked = 0;
        foreach (var batch in entries.Chunk(RevokeBatchSize))
        {
            var txn = new TxnRequest();
            foreach (var entry in batch)
            {
                SessionRemoval.AddRevoke(txn, entry);
            }

            var response = await _backend.Gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _backend.Metrics?.Destroyed(batch.Length);
                revoked += batch.Length;
                continue;
            }

            // One of them moved meanwhile: revoke this batch one by one, each following its session.
            foreach (var entry in batch)
            {
                if (await RevokeAsync(userName, entry.Session.SessionId, cancellationToken).ConfigureAwait(false))
                {
                    revoked++;
                }
            }
        }

        return revoked;
    }

    private async Task<List<UserSessionEntry>> EntriesAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        var range = KeyRange.Prefix(UserSessionIndex.UserPrefix(_backend.Options.KeyPrefix, userName));
        var response = await _backend.Gateway.RangeAsync(range, cancellationToken).ConfigureAwait(false);
        return [.. response.Kvs.Select(UserSessionIndex.Decode).OfType<UserSessionEntry>()];
    }
}
