using System.Globalization;
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
    private readonly TextWriter _output;

    public SessionCatalog(IServiceProvider services, TextWriter output)
    {
        _backend = services.GetRequiredService<SessionBackend>();
        _directory = services.GetRequiredService<EtcdSessionDirectory>();
        _output = output;
    }

    private string SessionsPrefix => SessionKeys.SessionsPrefix(_backend.Options.KeyPrefix);

    public async Task<int> CountAsync(CancellationToken cancellationToken)
    {
        await _output.WriteLineAsync((await CountPrefixAsync(SessionsPrefix, cancellationToken)).ToString(CultureInfo.InvariantCulture));
        return AdminCommands.Ok;
    }

    public async Task<int> ListAsync(int pageSize, string? after, CancellationToken cancellationToken)
    {
        var page = await PageAsync(after, pageSize, cancellationToken);
        await _output.WriteLineAsync("id                                created (UTC)        expires (UTC)        bytes  user");
        foreach (var kv in page.Kvs)
        {
            await _output.WriteLineAsync(Describe(kv));
        }

        if (page.More)
        {
            await _output.WriteLineAsync($"more: --after {Token(page.Kvs[^1])}");
        }

        return AdminCommands.Ok;
    }

    public async Task<int> ShowAsync(string id, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, cancellationToken) is not { } kv)
        {
            await _output.WriteLineAsync($"No session with id {id}.");
            return AdminCommands.NotFound;
        }

        var (stored, items) = _backend.Decode(kv);
        var header = stored.Header;
        await _output.WriteLineAsync($"id:          {header.Id}");
        await _output.WriteLineAsync($"user:        {header.User ?? "(none)"}");
        await _output.WriteLineAsync($"created:     {Time(header.Created)}");
        await _output.WriteLineAsync($"expires:     {Time(SessionBackend.DeadlineOf(stored))}");
        await _output.WriteLineAsync($"absolute:    {Time(header.AbsoluteExpiry)}");
        await _output.WriteLineAsync($"serializer:  {header.Serializer}");
        await _output.WriteLineAsync($"bytes:       {kv.Value.Length}");
        foreach (var (name, value) in header.Metadata ?? new Dictionary<string, string>())
        {
            await _output.WriteLineAsync($"meta {name}: {value}");
        }

        await _output.WriteLineAsync($"items ({items.Count}):");
        foreach (var (name, value) in items.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            await _output.WriteLineAsync($"  {name} = {Printable(value)}");
        }

        return AdminCommands.Ok;
    }

    public async Task<int> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        var budget = RetryBudget.Start(_backend.Options.IOTimeout);
        for (var attempt = 1; !budget.IsSpent; attempt++)
        {
            if (await FindAsync(id, cancellationToken) is not { } kv)
            {
                await _output.WriteLineAsync($"No session with id {id}.");
                return AdminCommands.NotFound;
            }

            var header = _backend.Decode(kv).Stored.Header;
            var txn = SessionRemoval.Guarded(_backend.Options.KeyPrefix, kv.Key.ToStringUtf8(), kv.ModRevision, header);
            if ((await _backend.Gateway.TxnAsync(txn, cancellationToken)).Succeeded)
            {
                await _output.WriteLineAsync($"Revoked session {id}.");
                return AdminCommands.Ok;
            }
        }

        await _output.WriteLineAsync($"Session {id} kept changing; try again.");
        return AdminCommands.Failed;
    }

    public async Task<int> RevokeUserAsync(string user, CancellationToken cancellationToken)
    {
        var revoked = await _directory.RevokeAllAsync(user, cancellationToken: cancellationToken);
        await _output.WriteLineAsync($"Revoked {revoked} session(s) of user {user}.");
        return AdminCommands.Ok;
    }

    public async Task<int> StatsAsync(CancellationToken cancellationToken)
    {
        var sessions = await CountPrefixAsync(SessionsPrefix, cancellationToken);
        var indexed = await CountPrefixAsync(UserSessionIndex.RootPrefix(_backend.Options.KeyPrefix), cancellationToken);
        var leases = await _backend.Gateway.LeasesAsync(cancellationToken);
        var status = await _backend.Gateway.StatusAsync(cancellationToken);
        var expiryLeases = leases.Leases.Count(l => ExpiryLease.ExpiryOf(l.ID) is not null);
        await _output.WriteLineAsync($"key prefix:        {_backend.Options.KeyPrefix}");
        await _output.WriteLineAsync($"sessions:          {sessions}");
        await _output.WriteLineAsync($"bound to a user:   {indexed}");
        await _output.WriteLineAsync($"leases:            {leases.Leases.Count} ({expiryLeases} session expiry leases, shared by every prefix)");
        await _output.WriteLineAsync($"etcd version:      {status.Version}");
        await _output.WriteLineAsync($"etcd db size:      {status.DbSize} bytes ({status.DbSizeInUse} in use)");
        await _output.WriteLineAsync($"etcd revision:     {status.Header.Revision}");
        return AdminCommands.Ok;
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

    private string Describe(KeyValue kv)
    {
        try
        {
            var (header, _) = Format.SessionEnvelope.Decode(kv.Value.Memory);
            var expires = SessionBackend.DeadlineOf(new StoredSession(header, kv.Value, kv.ModRevision, kv.Lease));
            return $"{header.Id,-33} {Time(header.Created),-20} {Time(expires),-20} {kv.Value.Length,6}  {header.User ?? "-"}";
        }
        catch (FormatException ex)
        {
            return $"(unreadable: {ex.Message})";
        }
    }

    // The page token is the hash part of the etcd key: already visible to anyone who can read etcd, and no cookie.
    private string Token(KeyValue kv) => kv.Key.ToStringUtf8()[SessionsPrefix.Length..];

    private static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";

    private static string Printable(byte[] value)
    {
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
            if (text.All(c => !char.IsControl(c) || c is '\t'))
            {
                return '"' + text + '"';
            }
        }
        catch (DecoderFallbackException)
        {
            // not text: shown as base64 below
        }

        return "base64:" + Convert.ToBase64String(value);
    }
}
