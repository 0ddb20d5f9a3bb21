using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Lists and revokes the live sessions of a user ("active sessions", "sign out everywhere"). Only sessions
/// bound to a user are listed: see <see cref="EtcdSessionExtensions.BindUserAsync"/>.
/// Registered by <c>AddEtcdSession</c>; works from any app instance. With
/// <see cref="EtcdAuthenticationBuilderExtensions.StoreTicketsInEtcd"/>, revoking also ends the user's sign-in
/// tickets: every one for <see cref="RevokeAllAsync"/>, those signed in with that session for <see cref="RevokeAsync"/>.
/// </summary>
public sealed partial class EtcdSessionDirectory
{
    // Each revoke takes one compare and two deletes: 40 stay under etcd's default of 128 per transaction side.
    private const int RevokeBatchSize = 40;

    // Each ticket revoke takes two deletes.
    private const int TicketRevokeBatchSize = 60;

    private readonly EtcdGateway _gateway;
    private readonly SessionCodec _codec;
    private readonly string _keyPrefix;
    private readonly TimeSpan _ioTimeout;
    private readonly TimeProvider _time;
    private readonly SessionMetrics? _metrics;

    internal EtcdSessionDirectory(EtcdGateway gateway, SessionCodec codec, EtcdSessionOptions options, TimeProvider time, SessionMetrics? metrics = null)
    {
        _gateway = gateway;
        _codec = codec;
        _keyPrefix = options.KeyPrefix;
        _ioTimeout = options.IOTimeout;
        _time = time;
        _metrics = metrics;
    }

    /// <summary>The live sessions of <paramref name="userName"/>, most recently seen first.</summary>
    /// <exception cref="EtcdSessionException">etcd failed.</exception>
    public async Task<IReadOnlyList<EtcdUserSession>> ListAsync(string userName, CancellationToken cancellationToken = default)
    {
        var entries = await EntriesAsync(userName, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        return [.. entries.Select(e => e.Session).Where(s => !SessionDeadline.IsPast(s.ExpiresAt, now)).OrderByDescending(s => s.LastSeen)];
    }

    /// <summary>
    /// Destroys one session of <paramref name="userName"/>; its next request starts a fresh, anonymous session.
    /// Sign-in tickets in etcd that were issued with that session end too.
    /// </summary>
    /// <returns><see langword="true"/> if the session (or a ticket of it) existed and was destroyed.</returns>
    /// <exception cref="EtcdSessionException">etcd failed; the session may still exist.</exception>
    public async Task<bool> RevokeAsync(string userName, string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var revoked = await RevokeSessionAsync(userName, sessionId, cancellationToken).ConfigureAwait(false);
        var tickets = await RevokeTicketsAsync(userName, e => string.Equals(e.SessionId, sessionId, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
        return revoked || tickets > 0;
    }

    private async Task<bool> RevokeSessionAsync(string userName, string sessionId, CancellationToken cancellationToken)
    {
        var entryKey = UserSessionIndex.EntryKey(_keyPrefix, userName, sessionId);
        var kv = await _gateway.GetAsync(entryKey, cancellationToken).ConfigureAwait(false);
        if (kv is null)
        {
            return false;
        }

        return await RetryBudget.RetryConflictsAsync<bool>(RetryBudget.Start(_ioTimeout), async _ =>
        {
            if (UserSessionIndex.Decode(kv) is not { } entry)
            {
                return (true, false);
            }

            var response = await _gateway.TxnAsync(SessionTransactions.Revoke([(entry.StorageKey, entry.EntryKey, entry.ModRevision)]), cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _metrics?.Destroyed(1);
                return (true, true);
            }

            kv = SessionTransactions.ReadBack(response); // the session moved (rotation, touch) meanwhile: follow it
            return kv is null ? (true, false) : default;
        }, () => false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Destroys every session of <paramref name="userName"/> ("sign out everywhere"), except
    /// <paramref name="exceptSessionId"/> when given. Each browser of the user gets a fresh, anonymous
    /// session on its next request. Every sign-in ticket of the user in etcd ends too, except those issued
    /// with <paramref name="exceptSessionId"/>.
    /// </summary>
    /// <returns>How many sessions were destroyed (tickets are not counted).</returns>
    /// <exception cref="EtcdSessionException">etcd failed; some sessions may still exist.</exception>
    public async Task<int> RevokeAllAsync(string userName, string? exceptSessionId = null, CancellationToken cancellationToken = default)
    {
        var entries = (await EntriesAsync(userName, cancellationToken).ConfigureAwait(false))
            .Where(e => !string.Equals(e.Session.SessionId, exceptSessionId, StringComparison.Ordinal))
            .ToList();
        var revoked = await RevokeEntriesAsync(userName, entries, cancellationToken).ConfigureAwait(false);
        await RevokeTicketsAsync(userName, e => exceptSessionId is null || !string.Equals(e.SessionId, exceptSessionId, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
        return revoked;
    }

    /// <summary>
    /// Ends the oldest live sessions of <paramref name="userName"/> (by creation time) until, with
    /// <paramref name="keptSessionId"/>, at most <paramref name="maxSessions"/> remain. The kept session is
    /// never ended and counts whether or not it is stored yet (a new session is written at the end of its
    /// request). A read followed by revokes: see docs/sessions-by-user.md for concurrent sign-ins.
    /// </summary>
    /// <returns>How many sessions were destroyed.</returns>
    internal async Task<int> RevokeOldestAsync(string userName, string keptSessionId, int maxSessions, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSessions, 1);
        var now = _time.GetUtcNow();
        var oldest = (await EntriesAsync(userName, cancellationToken).ConfigureAwait(false))
            .Where(e => !SessionDeadline.IsPast(e.Session.ExpiresAt, now)
                && !string.Equals(e.Session.SessionId, keptSessionId, StringComparison.Ordinal))
            .OrderByDescending(e => e.Session.Created)
            .ThenByDescending(e => e.Session.SessionId, StringComparer.Ordinal)
            .Skip(maxSessions - 1)
            .ToList();
        if (oldest.Count == 0)
        {
            return 0;
        }

        var revoked = await RevokeEntriesAsync(userName, oldest, cancellationToken).ConfigureAwait(false);
        var ended = oldest.Select(e => e.Session.SessionId).ToHashSet(StringComparer.Ordinal);
        await RevokeTicketsAsync(userName, e => e.SessionId is { } id && ended.Contains(id), cancellationToken).ConfigureAwait(false);
        return revoked;
    }

    private async Task<int> RevokeEntriesAsync(string userName, List<UserSessionEntry> entries, CancellationToken cancellationToken)
    {
        var revoked = 0;
        foreach (var batch in entries.Chunk(RevokeBatchSize))
        {
            var txn = SessionTransactions.Revoke([.. batch.Select(e => (e.StorageKey, e.EntryKey, e.ModRevision))]);
            var response = await _gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _metrics?.Destroyed(batch.Length);
                revoked += batch.Length;
                continue;
            }

            // One of them moved meanwhile: revoke this batch one by one, each following its session.
            foreach (var entry in batch)
            {
                if (await RevokeSessionAsync(userName, entry.Session.SessionId, cancellationToken).ConfigureAwait(false))
                {
                    revoked++;
                }
            }
        }

        return revoked;
    }

    /// <summary>
    /// Deletes the user's sign-in tickets that <paramref name="which"/> selects, each with its index entry.
    /// Exact-key deletes: a ticket keeps its etcd key for life, and a renewal only writes a ticket that still
    /// exists, so a ticket deleted here cannot come back.
    /// </summary>
    private async Task<int> RevokeTicketsAsync(string userName, Func<UserTicketEntry, bool> which, CancellationToken cancellationToken)
    {
        var prefix = _keyPrefix;
        var response = await _gateway.RangeAsync(KeyRange.Prefix(UserTicketIndex.UserPrefix(prefix, userName)), cancellationToken).ConfigureAwait(false);
        var tickets = response.Kvs.Select(UserTicketIndex.Decode).OfType<UserTicketEntry>()
            .Where(e => e.StorageKey.StartsWith(SessionKeys.TicketsPrefix(prefix), StringComparison.Ordinal) && which(e))
            .ToList();
        foreach (var batch in tickets.Chunk(TicketRevokeBatchSize))
        {
            await _gateway.TxnAsync(KeyTransactions.Delete(batch.SelectMany(t => new[] { t.StorageKey, t.EntryKey })), cancellationToken).ConfigureAwait(false);
        }

        return tickets.Count;
    }

    private async Task<List<UserSessionEntry>> EntriesAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        var range = KeyRange.Prefix(UserSessionIndex.UserPrefix(_keyPrefix, userName));
        var response = await _gateway.RangeAsync(range, cancellationToken).ConfigureAwait(false);
        return [.. response.Kvs.Select(UserSessionIndex.Decode).OfType<UserSessionEntry>()];
    }
}
