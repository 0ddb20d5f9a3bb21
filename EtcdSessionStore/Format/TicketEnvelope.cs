using System.Buffers;
using System.Text.Json;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// The stored layout of a sign-in ticket, format revision 1:
/// <code>
/// {"v":1,"id":"&lt;ticket id&gt;","user":"&lt;name|null&gt;"}\n
/// &lt;the ticket as TicketSerializer writes it, protected with ASP.NET Core Data Protection&gt;
/// </code>
/// The header is one line of JSON whose first member is the format revision, as in a session value. It holds
/// what a sign-out needs to find the ticket's index entry; the claims and properties are only in the
/// protected part. The expiry is not in the value: it is encoded in the id of the lease (<c>ExpiryLease</c>).
/// Both header fields follow from the reference and the ticket, so a renewal rewrites the value without
/// reading it first.
/// </summary>
internal static class TicketEnvelope
{
    public const int FormatRevision = 1;
    private const byte Separator = (byte)'\n';
    private const int MaxHeaderBytes = 4096;

    public static byte[] Encode(string ticketId, string? user, ReadOnlySpan<byte> protectedTicket)
    {
        var output = new ArrayBufferWriter<byte>(256 + protectedTicket.Length);
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteNumber("v", FormatRevision);
            json.WriteString("id", ticketId);
            json.WriteString("user", user);
            json.WriteEndObject();
        }

        output.Write([Separator]);
        output.Write(protectedTicket);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads the header and returns it with the protected ticket that follows it.</summary>
    /// <exception cref="FormatException">The value is not in a layout this version can read.</exception>
    public static (string TicketId, string? User, ReadOnlyMemory<byte> ProtectedTicket) Decode(ReadOnlyMemory<byte> value)
    {
        var end = value.Span[..Math.Min(value.Length, MaxHeaderBytes)].IndexOf(Separator);
        if (end < 0)
        {
            throw new FormatException("The stored ticket has no header line.");
        }

        try
        {
            using var doc = JsonDocument.Parse(value[..end]);
            var root = doc.RootElement;
            if (!root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != FormatRevision)
            {
                throw new FormatException($"The stored ticket is not in format revision {FormatRevision}.");
            }

            var id = root.GetProperty("id").GetString() ?? throw new FormatException("The stored ticket has no id.");
            return (id, root.GetProperty("user").GetString(), value[(end + 1)..]);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException("The stored ticket header cannot be read: " + ex.Message, ex);
        }
    }
}
