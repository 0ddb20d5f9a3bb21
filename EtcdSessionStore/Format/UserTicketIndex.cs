using System.Text.Json;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// The index of sign-in tickets by user: <c>{KeyPrefix}ut/{SHA-256(user)}/{ticket id}</c>, one entry per
/// ticket whose principal has a name, beside the session index (<see cref="UserSessionIndex"/>). An entry is
/// written in the same transaction as its ticket and on the same expiry lease, so it lives and dies with it.
/// Its value holds only non-secret facts: the ticket's etcd key (a hash of the reference the cookie carries),
/// the public id of the session the user signed in with, and when.
/// </summary>
internal static class UserTicketIndex
{
    private const int FormatRevision = 1;

    /// <summary>The prefix under which every ticket index entry of an application lives.</summary>
    public static string RootPrefix(string keyPrefix) => keyPrefix + "ut/";

    /// <summary>The prefix of the ticket entries of one user.</summary>
    public static string UserPrefix(string keyPrefix, string user) => RootPrefix(keyPrefix) + UserSessionIndex.UserHash(user) + "/";

    /// <summary>The entry of one ticket of one user.</summary>
    public static string EntryKey(string keyPrefix, string user, string ticketId) => UserPrefix(keyPrefix, user) + ticketId;

    public static byte[] Encode(TicketHeader header, string storageKey)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", FormatRevision);
            json.WriteString("id", header.Id);
            json.WriteString("user", header.User);
            json.WriteString("key", storageKey);
            json.WriteString("sid", header.SessionId);
            json.WriteNumber("created", header.Created.ToUnixTimeMilliseconds());
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an entry; <see langword="null"/> when it is not in a layout this version reads.</summary>
    public static UserTicketEntry? Decode(KeyValue kv)
    {
        try
        {
            using var doc = JsonDocument.Parse(kv.Value.Memory);
            var root = doc.RootElement;
            if (root.GetProperty("v").GetInt32() != FormatRevision)
            {
                return null;
            }

            var sessionId = root.TryGetProperty("sid", out var sid) && sid.ValueKind == JsonValueKind.String ? sid.GetString() : null;
            return new UserTicketEntry(root.GetProperty("id").GetString()!, sessionId, root.GetProperty("key").GetString()!, kv.Key.ToStringUtf8());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
