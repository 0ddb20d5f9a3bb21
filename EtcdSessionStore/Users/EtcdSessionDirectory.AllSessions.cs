using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Etcd.AspNetCore.Session;

// Every stored session under the key prefix, whoever it belongs to: for operators' tools (the admin tool is
// built on these). Sessions are found by their non-secret id by scanning the sessions prefix page by page,
// because the id lives in the value, not in the key: fine for an operator, not for a request path.
public sealed partial class EtcdSessionDirectory
{
    /// <summary>The largest page <see cref="ListAllAsync"/> returns.</summary>
    public static readonly int MaxPageSize = 1000;

    private const int ScanPageSize = 500;

    private string SessionsPrefix => SessionKeys.SessionsPrefix(_keyPrefix);

    /// <summary>The number of stored sessions under the key prefix (one count-only Range).</summary>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) => CountPrefixAsync(SessionsPrefix, cancellationToken);

    /// <summary>A page of every stored session, in etcd key order, without secret keys.</summary>
    /// <param name="pageSize">Sessions per page, from 1 to <see cref="MaxPageSize"/>.</param>
    /// <param name="continuationToken">The <see cref="EtcdSessionPage.ContinuationToken"/> of the previous page, or <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public async Task<EtcdSessionPage> ListAllAsync(int pageSize = 50, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, MaxPageSize);
        var page = await PageAsync(continuationToken, pageSize, cancellationToken).ConfigureAwait(false);
        return new EtcdSessionPage([.. page.Kvs.Select(Summarize)], page.More ? Token(page.Kvs[^1]) : null);
    }

    /// <summary>The stored session with the non-secret id <paramref name="sessionId"/>, with its items; <see langword="null"/> if there is none.</summary>
    /// <exception cref="EtcdSessionException">etcd failed, or the session's value cannot be read (<see cref="EtcdSessionErrorKind.CorruptData"/>).</exception>
    public async Task<EtcdSessionDetails?> FindAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        if (await FindStoredAsync(sessionId, cancellationToken).ConfigureAwait(false) is not { } kv)
        {
            return null;
        }

        var (stored, items) = _codec.Decode(kv);
        var header = stored.Header;
        return new EtcdSessionDetails(header.Id, header.User, header.Created, stored.Deadline, header.AbsoluteExpiry,
            header.Serializer, kv.Value.Length, header.Metadata ?? new Dictionary<string, string>(), items);
    }

    /// <summary>
    /// Destroys the session with the non-secret id <paramref name="sessionId"/>, and its user-index entry, in one
    /// transaction; its next request starts a fresh, anonymous session.
    /// </summary>
    /// <returns><see langword="true"/> if the session existed and was destroyed.</returns>
    /// <exception cref="EtcdSessionException">etcd failed; or the session kept changing for longer than <see cref="EtcdSessionOptions.IOTimeout"/> (<see cref="EtcdSessionErrorKind.Conflict"/>).</exception>
    public async Task<bool> RevokeByIdAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return await RetryBudget.RetryConflictsAsync<bool>(RetryBudget.Start(_ioTimeout), async _ =>
        {
            if (await FindStoredAsync(sessionId, cancellationToken).ConfigureAwait(false) is not { } kv)
            {
                return (true, false);
            }

            var header = SessionCodec.DecodeHeader(kv); // the header alone: sealed items need no key ring to be revoked
            var txn = SessionTransactions.Remove(kv.Key.ToStringUtf8(), kv.ModRevision, header.User is { } user ? UserSessionIndex.EntryKey(_keyPrefix, user, header.Id) : null);
            if ((await _gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                _metrics?.Destroyed(1);
                return (true, true);
            }

            return default;
        }, () => throw new EtcdSessionException(EtcdSessionErrorKind.Conflict,
            $"Session {sessionId} kept changing for longer than IOTimeout while it was being revoked; try again."), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sessions, user-index entries, leases and the etcd member's version, database size and revision.</summary>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public async Task<EtcdSessionStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default)
    {
        var sessions = await CountPrefixAsync(SessionsPrefix, cancellationToken).ConfigureAwait(false);
        var indexed = await CountPrefixAsync(UserSessionIndex.RootPrefix(_keyPrefix), cancellationToken).ConfigureAwait(false);
        var leases = await _gateway.LeasesAsync(cancellationToken).ConfigureAwait(false);
        var status = await _gateway.StatusAsync(cancellationToken).ConfigureAwait(false);
        var expiryLeases = leases.Leases.Count(l => ExpiryLease.ExpiryOf(l.ID) is not null);
        return new EtcdSessionStatistics(_keyPrefix, sessions, indexed, leases.Leases.Count, expiryLeases,
            status.Version, status.DbSize, status.DbSizeInUse, status.Header.Revision);
    }

    private async Task<long> CountPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(prefix);
        range.CountOnly = true;
        return (await _gateway.RangeAsync(range, cancellationToken).ConfigureAwait(false)).Count;
    }

    private Task<RangeResponse> PageAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(SessionsPrefix);
        if (after is not null)
        {
            range.Key = ByteString.CopyFromUtf8(SessionsPrefix + after + "\0"); // the first key after the token
        }

        range.Limit = limit;
        return _gateway.RangeAsync(range, cancellationToken);
    }

    private async Task<KeyValue?> FindStoredAsync(string sessionId, CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await PageAsync(after, ScanPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var kv in page.Kvs)
            {
                if (TryHeaderId(kv) == sessionId)
                {
                    return kv;
                }
            }

            if (!page.More || page.Kvs.Count == 0)
            {
                return null;
            }

            after = Token(page.Kvs[^1]);
        }
    }

    private static string? TryHeaderId(KeyValue kv)
    {
        try
        {
            return SessionEnvelope.Decode(kv.Value.Memory).Header.Id;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static EtcdSessionSummary Summarize(KeyValue kv)
    {
        try
        {
            var (header, _) = SessionEnvelope.Decode(kv.Value.Memory);
            var expires = new StoredSession(header, kv.Value, kv.ModRevision, kv.Lease).Deadline;
            return new EtcdSessionSummary(header.Id, header.User, header.Created, expires, kv.Value.Length, readError: null);
        }
        catch (FormatException ex)
        {
            return new EtcdSessionSummary(null, null, null, null, kv.Value.Length, ex.Message);
        }
    }

    // The page token is the hash part of the etcd key: already visible to anyone who can read etcd, and no cookie.
    private string Token(KeyValue kv) => kv.Key.ToStringUtf8()[SessionsPrefix.Length..];
}
