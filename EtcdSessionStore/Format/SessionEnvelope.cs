using System.Buffers;
using System.Text.Json;
using Etcd.AspNetCore.Session.Protection;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// The stored layout of a session value, format revision 1:
/// <code>
/// {"v":1,"id":"&lt;public id&gt;","created":&lt;unix ms&gt;,"idle":&lt;seconds&gt;,"abs":&lt;unix ms|null&gt;,"ser":"JSON",
///  "user":"&lt;user&gt;","meta":{...},"sidle":&lt;seconds&gt;,"cids":["&lt;commit id&gt;",...]}\n
/// &lt;items, as written by the serializer named in "ser"&gt;
/// </code>
/// <c>user</c> and <c>meta</c> are written only for a session bound to a user, <c>sidle</c> only for a session whose
/// idle timeout was chosen for it (<c>SetIdleTimeout</c>), <c>cids</c> (the last few commit ids, newest first) by every
/// commit, <c>seal</c> (the Data Protection key that wraps the items' key) only when the items are sealed
/// (<see cref="ItemSealing"/>): then what follows the header is the sealed items, and the header stays readable.
/// The header is one line of JSON whose first member is the format revision, so a reader can tell a
/// value written by another version before it reads anything else. The idle deadline is not in the value:
/// it is encoded in the id of the lease the key is attached to (see <c>ExpiryLease</c>).
/// </summary>
internal static class SessionEnvelope
{
    public const int FormatRevision = 1;
    private const byte Separator = (byte)'\n';
    private const int MaxHeaderBytes = 4096;

    /// <param name="header">The header.</param>
    /// <param name="serializer">Writes the items.</param>
    /// <param name="items">The items.</param>
    /// <param name="sealing">Seals the items when it seals writes (<see cref="EtcdSessionOptions.EncryptAtRest"/>).</param>
    public static byte[] Encode(SessionHeader header, ISessionSerializer serializer, IReadOnlyDictionary<string, byte[]> items, ItemSealing? sealing = null)
    {
        var key = sealing is { SealsWrites: true } ? sealing.CurrentKey() : null;
        var output = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteNumber("v", FormatRevision);
            json.WriteString("id", header.Id);
            json.WriteNumber("created", header.Created.ToUnixTimeMilliseconds());
            json.WriteNumber("idle", (long)header.IdleTimeout.TotalSeconds);
            if (header.AbsoluteExpiry is { } abs)
            {
                json.WriteNumber("abs", abs.ToUnixTimeMilliseconds());
            }
            else
            {
                json.WriteNull("abs");
            }

            json.WriteString("ser", serializer.Name);
            WriteBinding(json, header);
            if (header.ChosenIdleTimeout is { } chosen)
            {
                json.WriteNumber("sidle", (long)chosen.TotalSeconds);
            }

            if (header.CommitIds is { Count: > 0 } commits)
            {
                json.WriteStartArray("cids");
                foreach (var commit in commits)
                {
                    json.WriteStringValue(commit);
                }

                json.WriteEndArray();
            }

            if (key is not null)
            {
                json.WriteString("seal", key.RingKeyName);
            }

            json.WriteEndObject();
        }

        output.Write([Separator]);
        if (key is null)
        {
            serializer.Serialize(items, output);
        }
        else
        {
            var plain = new ArrayBufferWriter<byte>(256);
            serializer.Serialize(items, plain);
            ItemSealing.Seal(key, header.Id, plain.WrittenSpan, output);
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads the header and returns it with the serialized items that follow it (sealed or not: see the other overload).</summary>
    /// <exception cref="FormatException">The value is not in a layout this version can read.</exception>
    public static (SessionHeader Header, ReadOnlyMemory<byte> Payload) Decode(ReadOnlyMemory<byte> value) => Decode(value, out _);

    /// <summary>Reads the header and returns it with the items that follow it, sealed when <paramref name="sealedUnder"/> is set.</summary>
    /// <param name="value">The stored value.</param>
    /// <param name="sealedUnder">The header's <c>seal</c>: the items are sealed (<see cref="ItemSealing"/>); <see langword="null"/> when they are not.</param>
    /// <exception cref="FormatException">The value is not in a layout this version can read.</exception>
    public static (SessionHeader Header, ReadOnlyMemory<byte> Payload) Decode(ReadOnlyMemory<byte> value, out string? sealedUnder)
    {
        sealedUnder = null;
        var end = value.Span[..Math.Min(value.Length, MaxHeaderBytes)].IndexOf(Separator);
        if (end < 0)
        {
            throw new FormatException("The stored session has no header line.");
        }

        var reader = new Utf8JsonReader(value.Span[..end]);
        int? revision = null;
        string? id = null, serializer = null;
        long? created = null, idle = null, abs = null;
        string? user = null;
        Dictionary<string, string>? metadata = null;
        List<string>? commits = null;
        long? chosenIdle = null;
        try
        {
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "a JSON object header");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "v": revision = reader.GetInt32(); break;
                    case "id": id = reader.GetString(); break;
                    case "created": created = reader.GetInt64(); break;
                    case "idle": idle = reader.GetInt64(); break;
                    case "abs": abs = reader.TokenType == JsonTokenType.Null ? null : reader.GetInt64(); break;
                    case "ser": serializer = reader.GetString(); break;
                    case "user": user = reader.GetString(); break;
                    case "meta": metadata = ReadMetadata(ref reader); break;
                    case "cids": commits = ReadCommitIds(ref reader); break;
                    case "sidle": chosenIdle = reader.GetInt64(); break;
                    case "seal": sealedUnder = reader.GetString() ?? string.Empty; break;
                    default: reader.Skip(); break; // members added by later revisions of the same layout
                }

                if (revision is null)
                {
                    throw new FormatException("The stored session header does not start with its format revision \"v\".");
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException("The stored session header is not valid JSON: " + ex.Message, ex);
        }

        if (revision != FormatRevision)
        {
            throw new FormatException($"The stored session has format revision {revision}; this version reads revision {FormatRevision}.");
        }

        if (id is null || created is null || idle is null || serializer is null)
        {
            throw new FormatException("The stored session header lacks one of \"id\", \"created\", \"idle\", \"ser\".");
        }

        SessionHeader header;
        try
        {
            header = new SessionHeader(
                id,
                DateTimeOffset.FromUnixTimeMilliseconds(created.Value),
                TimeSpan.FromSeconds(idle.Value),
                abs is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(abs.Value),
                serializer,
                user,
                metadata,
                commits,
                chosenIdle is null ? null : TimeSpan.FromSeconds(chosenIdle.Value));
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            throw new FormatException("The stored session header holds a time out of range: " + ex.Message, ex);
        }

        return (header, value[(end + 1)..]);
    }

    // Optional members, written only for a session bound to a user: older readers skip them.
    private static void WriteBinding(Utf8JsonWriter json, SessionHeader header)
    {
        if (header.User is null)
        {
            return;
        }

        json.WriteString("user", header.User);
        if (header.Metadata is { Count: > 0 } metadata)
        {
            json.WriteStartObject("meta");
            foreach (var (name, text) in metadata)
            {
                json.WriteString(name, text);
            }

            json.WriteEndObject();
        }
    }

    private static Dictionary<string, string>? ReadMetadata(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(reader.TokenType == JsonTokenType.StartObject, "\"meta\" to be an object");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            metadata[name] = reader.GetString() ?? string.Empty;
        }

        return metadata;
    }

    private static List<string> ReadCommitIds(ref Utf8JsonReader reader)
    {
        Expect(reader.TokenType == JsonTokenType.StartArray, "\"cids\" to be an array");
        var commits = new List<string>(SessionHeader.KeptCommitIds);
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            commits.Add(reader.GetString()!);
        }

        return commits;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new FormatException($"The stored session header is malformed: expected {what}.");
        }
    }
}
