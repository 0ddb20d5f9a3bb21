using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// The index of sessions by user: <c>{KeyPrefix}u/{SHA-256(user)}/{public id}</c>, one entry per session
/// bound to a user. An entry is written in the same transaction as its session and on the same expiry
/// lease, so it lives and dies with it. Its value holds only non-secret facts and the session's etcd key
/// (a hash of the secret, which cannot be turned back into a cookie).
/// </summary>
internal static class UserSessionIndex
{
    /// <summary>The longest user name a session can be bound to, in characters.</summary>
    public const int MaxUserNameLength = 256;

    /// <summary>
    /// The largest metadata a session can carry: names and values together, in bytes as stored (UTF-8, JSON
    /// escaped). With the longest user name this keeps the session header under its 4 KiB limit.
    /// </summary>
    public const int MaxMetadataBytes = 1024;

    private const int FormatRevision = 1;

    /// <summary>The prefix under which every index entry of an application lives.</summary>
    public static string RootPrefix(string keyPrefix) => keyPrefix + "u/";

    /// <summary>The prefix of the entries of one user.</summary>
    public static string UserPrefix(string keyPrefix, string user) => RootPrefix(keyPrefix) + UserHash(user) + "/";

    /// <summary>The entry of one session of one user.</summary>
    public static string EntryKey(string keyPrefix, string user, string sessionId) => UserPrefix(keyPrefix, user) + sessionId;

    /// <summary>
    /// Whether a session or a ticket can be indexed under <paramref name="user"/>: a name that is not empty and at most
    /// <see cref="MaxUserNameLength"/> characters long.
    /// </summary>
    public static bool IsIndexable([NotNullWhen(true)] string? user) => user is { Length: > 0 and <= MaxUserNameLength };

    /// <summary>Checks a user name and metadata before they are bound to a session.</summary>
    /// <exception cref="ArgumentException">The user name is empty or too long, or the metadata too large.</exception>
    public static void Validate(string user, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (user.Length > MaxUserNameLength)
        {
            throw new ArgumentException($"The user name is {user.Length} characters; the limit is {MaxUserNameLength}.", nameof(user));
        }

        var bytes = metadata?.Sum(p => StoredBytes(p.Key) + StoredBytes(p.Value ?? string.Empty)) ?? 0;
        if (bytes > MaxMetadataBytes)
        {
            throw new ArgumentException($"The session metadata is {bytes} bytes as stored (UTF-8, JSON-escaped); the limit is {MaxMetadataBytes}.", nameof(metadata));
        }
    }

    public static byte[] Encode(SessionHeader header, string storageKey, DateTimeOffset lastSeen)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", FormatRevision);
            json.WriteString("id", header.Id);
            json.WriteString("user", header.User);
            json.WriteString("key", storageKey);
            json.WriteNumber("created", header.Created.ToUnixTimeMilliseconds());
            json.WriteNumber("seen", lastSeen.ToUnixTimeMilliseconds());
            if (header.AbsoluteExpiry is { } abs)
            {
                json.WriteNumber("abs", abs.ToUnixTimeMilliseconds());
            }

            json.WriteStartObject("meta");
            foreach (var (name, text) in header.Metadata ?? new Dictionary<string, string>())
            {
                json.WriteString(name, text);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an entry; <see langword="null"/> when it is not in a layout this version reads.</summary>
    public static UserSessionEntry? Decode(KeyValue kv)
    {
        try
        {
            using var doc = JsonDocument.Parse(kv.Value.Memory);
            var root = doc.RootElement;
            if (root.GetProperty("v").GetInt32() != FormatRevision)
            {
                return null;
            }

            var abs = root.TryGetProperty("abs", out var a) ? DateTimeOffset.FromUnixTimeMilliseconds(a.GetInt64()) : (DateTimeOffset?)null;
            var expires = SessionDeadline.Of(kv.Lease, abs);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("meta", out var meta))
            {
                foreach (var p in meta.EnumerateObject())
                {
                    metadata[p.Name] = p.Value.GetString() ?? string.Empty;
                }
            }

            var info = new EtcdUserSession(
                root.GetProperty("id").GetString()!,
                root.GetProperty("user").GetString()!,
                DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("created").GetInt64()),
                DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("seen").GetInt64()),
                expires,
                metadata);
            return new UserSessionEntry(info, root.GetProperty("key").GetString()!, kv.Key.ToStringUtf8(), kv.ModRevision);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static int StoredBytes(string text) => JsonEncodedText.Encode(text).EncodedUtf8Bytes.Length;

    /// <summary>The hashed user name in index keys (the name itself is never part of a key).</summary>
    public static string UserHash(string user) => SessionKeys.Hash(user);
}

