using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Etcd.AspNetCore.Session.Admin;

/// <summary>How results are printed: <c>text</c> for people, <c>json</c> for scripts.</summary>
internal enum AdminOutputFormat
{
    Text,
    Json,
}

/// <summary>
/// Prints each command's result as text or as one JSON document (camelCase names, times in ISO 8601 UTC,
/// <see langword="null"/> for "none"). The shapes are documented in docs/admin-tool.md.
/// </summary>
internal sealed class AdminOutput(TextWriter output, AdminOutputFormat format)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public Task CountAsync(long sessions) =>
        format == AdminOutputFormat.Json
            ? JsonAsync(new { sessions })
            : output.WriteLineAsync(sessions.ToString(CultureInfo.InvariantCulture));

    public async Task PageAsync(EtcdSessionPage page)
    {
        if (format == AdminOutputFormat.Json)
        {
            // The tool's JSON names the session id "id", as its text output and its arguments do.
            var sessions = page.Sessions.Select(s => new { id = s.SessionId, s.UserName, s.Created, s.ExpiresAt, s.StoredBytes, s.ReadError });
            await JsonAsync(new { sessions, next = page.ContinuationToken });
            return;
        }

        await output.WriteLineAsync("id                                created (UTC)        expires (UTC)        bytes  user");
        foreach (var s in page.Sessions)
        {
            await output.WriteLineAsync(s.ReadError is { } reason
                ? $"(unreadable: {reason})"
                : $"{s.SessionId,-33} {Time(s.Created),-20} {Time(s.ExpiresAt),-20} {s.StoredBytes,6}  {s.UserName ?? "-"}");
        }

        if (page.ContinuationToken is { } next)
        {
            await output.WriteLineAsync($"more: --after {next}");
        }
    }

    public async Task DetailsAsync(string id, EtcdSessionDetails? details)
    {
        if (format == AdminOutputFormat.Json)
        {
            await (details is null
                ? JsonAsync(new { id, found = false })
                : JsonAsync(new
                {
                    id = details.SessionId,
                    details.UserName,
                    details.Created,
                    details.ExpiresAt,
                    details.AbsoluteExpiry,
                    details.Serializer,
                    details.StoredBytes,
                    details.Metadata,
                    Items = Items(details).Select(i => new { name = i.Name, text = i.Text, base64 = i.Base64 }),
                }));
            return;
        }

        if (details is null)
        {
            await output.WriteLineAsync($"No session with id {id}.");
            return;
        }

        await output.WriteLineAsync($"id:          {details.SessionId}");
        await output.WriteLineAsync($"user:        {details.UserName ?? "(none)"}");
        await output.WriteLineAsync($"created:     {Time(details.Created)}");
        await output.WriteLineAsync($"expires:     {Time(details.ExpiresAt)}");
        await output.WriteLineAsync($"absolute:    {Time(details.AbsoluteExpiry)}");
        await output.WriteLineAsync($"serializer:  {details.Serializer}");
        await output.WriteLineAsync($"bytes:       {details.StoredBytes}");
        foreach (var (name, value) in details.Metadata)
        {
            await output.WriteLineAsync($"meta {name}: {value}");
        }

        await output.WriteLineAsync($"items ({details.Items.Count}):");
        foreach (var item in Items(details))
        {
            await output.WriteLineAsync($"  {item.Name} = {(item.Text is { } text ? '"' + text + '"' : "base64:" + item.Base64)}");
        }
    }

    public Task RevokedAsync(string id, bool revoked) =>
        format == AdminOutputFormat.Json
            ? JsonAsync(new { id, revoked, found = revoked })
            : output.WriteLineAsync(revoked ? $"Revoked session {id}." : $"No session with id {id}.");

    public Task RevokedUserAsync(string user, int revoked) =>
        format == AdminOutputFormat.Json
            ? JsonAsync(new { user, revoked })
            : output.WriteLineAsync($"Revoked {revoked} session(s) of user {user}.");

    public async Task StatsAsync(EtcdSessionStatistics stats)
    {
        if (format == AdminOutputFormat.Json)
        {
            await JsonAsync(stats);
            return;
        }

        await output.WriteLineAsync($"key prefix:        {stats.KeyPrefix}");
        await output.WriteLineAsync($"sessions:          {stats.Sessions}");
        await output.WriteLineAsync($"bound to a user:   {stats.SessionsBoundToAUser}");
        await output.WriteLineAsync($"leases:            {stats.Leases} ({stats.ExpiryLeases} session expiry leases, shared by every prefix)");
        await output.WriteLineAsync($"etcd version:      {stats.EtcdVersion}");
        await output.WriteLineAsync($"etcd db size:      {stats.DbSize} bytes ({stats.DbSizeInUse} in use)");
        await output.WriteLineAsync($"etcd revision:     {stats.Revision}");
    }

    /// <summary>The items in name order: printable UTF-8 text as text, anything else as base64.</summary>
    private static IEnumerable<(string Name, string? Text, string? Base64)> Items(EtcdSessionDetails details) =>
        details.Items.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => Printable(i.Value) is { } text
            ? (i.Key, (string?)text, (string?)null)
            : (i.Key, null, Convert.ToBase64String(i.Value)));

    private static string? Printable(byte[] value)
    {
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
            return text.All(c => !char.IsControl(c) || c is '\t') ? text : null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private Task JsonAsync<T>(T value) => output.WriteLineAsync(JsonSerializer.Serialize(value, Json));

    private static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";
}
