using System.Globalization;
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

    public async Task PageAsync(SessionPage page)
    {
        if (format == AdminOutputFormat.Json)
        {
            await JsonAsync(new { sessions = page.Sessions, next = page.Next });
            return;
        }

        await output.WriteLineAsync("id                                created (UTC)        expires (UTC)        bytes  user");
        foreach (var s in page.Sessions)
        {
            await output.WriteLineAsync(s.Unreadable is { } reason
                ? $"(unreadable: {reason})"
                : $"{s.Id,-33} {Time(s.Created),-20} {Time(s.ExpiresAt),-20} {s.Bytes,6}  {s.User ?? "-"}");
        }

        if (page.Next is { } next)
        {
            await output.WriteLineAsync($"more: --after {next}");
        }
    }

    public async Task DetailsAsync(string id, SessionDetails? details)
    {
        if (format == AdminOutputFormat.Json)
        {
            await (details is null ? JsonAsync(new { id, found = false }) : JsonAsync(details));
            return;
        }

        if (details is null)
        {
            await output.WriteLineAsync($"No session with id {id}.");
            return;
        }

        await output.WriteLineAsync($"id:          {details.Id}");
        await output.WriteLineAsync($"user:        {details.User ?? "(none)"}");
        await output.WriteLineAsync($"created:     {Time(details.Created)}");
        await output.WriteLineAsync($"expires:     {Time(details.ExpiresAt)}");
        await output.WriteLineAsync($"absolute:    {Time(details.AbsoluteExpiry)}");
        await output.WriteLineAsync($"serializer:  {details.Serializer}");
        await output.WriteLineAsync($"bytes:       {details.Bytes}");
        foreach (var (name, value) in details.Metadata)
        {
            await output.WriteLineAsync($"meta {name}: {value}");
        }

        await output.WriteLineAsync($"items ({details.Items.Count}):");
        foreach (var item in details.Items)
        {
            await output.WriteLineAsync($"  {item.Name} = {(item.Text is { } text ? '"' + text + '"' : "base64:" + item.Base64)}");
        }
    }

    public Task RevokedAsync(string id, RevokeOutcome outcome) =>
        format == AdminOutputFormat.Json
            ? JsonAsync(new { id, revoked = outcome == RevokeOutcome.Revoked, found = outcome != RevokeOutcome.NotFound })
            : output.WriteLineAsync(outcome switch
            {
                RevokeOutcome.Revoked => $"Revoked session {id}.",
                RevokeOutcome.NotFound => $"No session with id {id}.",
                _ => $"Session {id} kept changing; try again.",
            });

    public Task RevokedUserAsync(string user, int revoked) =>
        format == AdminOutputFormat.Json
            ? JsonAsync(new { user, revoked })
            : output.WriteLineAsync($"Revoked {revoked} session(s) of user {user}.");

    public async Task StatsAsync(StoreStatistics stats)
    {
        if (format == AdminOutputFormat.Json)
        {
            await JsonAsync(stats);
            return;
        }

        await output.WriteLineAsync($"key prefix:        {stats.KeyPrefix}");
        await output.WriteLineAsync($"sessions:          {stats.Sessions}");
        await output.WriteLineAsync($"bound to a user:   {stats.BoundToAUser}");
        await output.WriteLineAsync($"leases:            {stats.Leases} ({stats.ExpiryLeases} session expiry leases, shared by every prefix)");
        await output.WriteLineAsync($"etcd version:      {stats.EtcdVersion}");
        await output.WriteLineAsync($"etcd db size:      {stats.DbSize} bytes ({stats.DbSizeInUse} in use)");
        await output.WriteLineAsync($"etcd revision:     {stats.Revision}");
    }

    private Task JsonAsync<T>(T value) => output.WriteLineAsync(JsonSerializer.Serialize(value, Json));

    private static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";
}
