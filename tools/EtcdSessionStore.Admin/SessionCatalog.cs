using System.Text;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Users;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Admin;

/// <summary>
/// The commands, on the library's own decoding and transactions. Sessions are found by their public id
/// by scanning the sessions prefix page by page (the id lives in the value, not in the key).
/// </summary>
internal sealed class SessionCatalog
{
    private const int ScanPageSize = 500;

    private readonly SessionBackend _backend;
    private readonly EtcdSessionDirectory _directory;

    public SessionCatalog(IServiceProvider services)
    {
        _backend = services.GetRequiredService<SessionBackend>();
        _directory = services.GetRequiredService<EtcdSessionDirectory>();
    }

    private string SessionsPrefix => SessionKeys.SessionsPrefix(_backend.Options.KeyPrefix);

    public Task<long> CountAsync(CancellationToken cancellationToken) => CountPrefixAsync(SessionsPrefix, cancellationToken);

    public async Task<SessionPage> ListAsync(int pageSize, string? after, CancellationToken cancellationToken)
    {
        var page = await PageAsync(after, pageSize, cancellationToken);
        return new SessionPage([.. page.Kvs.Select(Describe)], page.More ? Token(page.Kvs[^1]) : null);
    }

    public async Task<SessionDetails?> ShowAsync(string id, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, cancellationToken) is not { } kv)
        {
            return null;
        }

        var (stored, items) = _backend.Decode(kv);
        var header = stored.Header;
        return new SessionDetails(
            header.Id,
            header.User,
            header.Created,
            SessionBackend.DeadlineOf(stored),
            header.AbsoluteExpiry,
            header.Serializer,
            kv.Value.Length,
            header.Metadata ?? new Dictionary<string, string>(),
            [.. items.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => Item(i.Key, i.Value))]);
    }

    public async Task<RevokeOutcome> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < _backend.Options.MaxCommitAttempts; attempt++)
        {
            if (await FindAsync(id, cancellationToken) is not { } kv)
            {
                return RevokeOutcome.NotFound;
            }

            var header = _backend.Decode(kv).Stored.Header;
            var txn = SessionRemoval.Guarded(_backend.Options.KeyPrefix, kv.Key.ToStringUtf8(), kv.ModRevision, header);
            if ((await _backend.Gateway.TxnAsync(txn, cancellationToken)).Succeeded)
            {
                return RevokeOutcome.Revoked;
            }
        }

        return RevokeOutcome.KeptChanging;
    }

    public Task<int> RevokeUserAsync(string user, CancellationToken cancellationToken) =>
        _directory.RevokeAllAsync(user, cancellationToken: cancellationToken);

    public async Task<StoreStatistics> StatsAsync(CancellationToken cancellationToken)
    {
        var sessions = await CountPrefixAsync(SessionsPrefix, cancellationToken);
        var indexed = await CountPrefixAsync(UserSessionIndex.RootPrefix(_backend.Options.KeyPrefix), cancellationToken);
        var leases = await _backend.Gateway.LeasesAsync(cancellationToken);
        var status = await _backend.Gateway.StatusAsync(cancellationToken);
        var expiryLeases = leases.Leases.Count(l => ExpiryLease.ExpiryOf(l.ID) is not null);
        return new StoreStatistics(_backend.Options.KeyPrefix, sessions, indexed, leases.Leases.Count, expiryLeases,
            status.Version, status.DbSize, status.DbSizeInUse, status.Header.Revision);
    }

    private async Task<long> CountPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(prefix);
        range.CountOnly = true;
        return (await _backend.Gateway.RangeAsync(range, cancellationToken)).Count;
    }

    private async Task<RangeResponse> PageAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(SessionsPrefix);
        if (after is not null)
        {
            range.Key = ByteString.CopyFromUtf8(SessionsPrefix + after + "\0"); // the first key after the token
        }

        range.Limit = limit;
        return await _backend.Gateway.RangeAsync(range, cancellationToken);
    }

    private async Task<KeyValue?> FindAsync(string id, CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await PageAsync(after, ScanPageSize, cancellationToken);
            foreach (var kv in page.Kvs)
            {
                if (TryHeaderId(kv) == id)
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

    private string? TryHeaderId(KeyValue kv)
    {
        try
        {
            return Format.SessionEnvelope.Decode(kv.Value.Memory).Header.Id;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private SessionSummary Describe(KeyValue kv)
    {
        try
        {
            var (header, _) = Format.SessionEnvelope.Decode(kv.Value.Memory);
            var expires = SessionBackend.DeadlineOf(new StoredSession(header, kv.Value, kv.ModRevision, kv.Lease));
            return new SessionSummary(header.Id, header.Created, expires, kv.Value.Length, header.User, Unreadable: null);
        }
        catch (FormatException ex)
        {
            return new SessionSummary(null, null, null, kv.Value.Length, null, ex.Message);
        }
    }

    // The page token is the hash part of the etcd key: already visible to anyone who can read etcd, and no cookie.
    private string Token(KeyValue kv) => kv.Key.ToStringUtf8()[SessionsPrefix.Length..];

    private static SessionItem Item(string name, byte[] value)
    {
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
            if (text.All(c => !char.IsControl(c) || c is '\t'))
            {
                return new SessionItem(name, text, null);
            }
        }
        catch (DecoderFallbackException)
        {
            // not text: shown as base64
        }

        return new SessionItem(name, null, Convert.ToBase64String(value));
    }
}
