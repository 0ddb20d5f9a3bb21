using System.Buffers.Binary;
using System.Text;
using Etcd.AspNetCore.Session.Storage;

namespace Etcd.AspNetCore.Session.Import;

/// <summary>
/// Reads a session as the stock <c>DistributedSession</c> (ASP.NET Core, <c>src/Middleware/Session</c>) stores it in
/// the <c>IDistributedCache</c>, under the session key itself:
/// <code>
/// revision      1 byte: 2 (DistributedSession.SerializationRevision)
/// entry count   3 bytes, big-endian
/// session id    16 bytes (a GUID's bytes: the stock ISession.Id)
/// per entry:    key length 2 bytes big-endian, the key in UTF-8, value length 4 bytes big-endian, the value
/// </code>
/// Stricter than the stock reader, which treats an unknown revision as an empty session and ignores trailing bytes: a
/// value that is not exactly this layout, or that holds what this store cannot keep (a key that is not valid UTF-8 or
/// longer than <see cref="StoreLimits.MaxItemKeyBytes"/>, a key twice), is not imported.
/// </summary>
internal static class StockSessionFormat
{
    /// <summary>The stock format's revision byte (<c>DistributedSession.SerializationRevision</c>).</summary>
    public const byte Revision = 2;

    private const int IdBytes = 16;
    private const int HeaderBytes = 1 + 3 + IdBytes;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The items of a stored stock session.</summary>
    /// <exception cref="FormatException">The value is not in the stock format, or holds an item this store cannot keep; the message says why.</exception>
    public static Dictionary<string, byte[]> Decode(ReadOnlySpan<byte> value)
    {
        if (value.Length < HeaderBytes)
        {
            throw new FormatException($"{value.Length} bytes is shorter than the stock format's {HeaderBytes}-byte header.");
        }

        if (value[0] != Revision)
        {
            throw new FormatException($"The first byte is {value[0]}, not the stock format's revision {Revision}.");
        }

        var count = value[1] << 16 | value[2] << 8 | value[3];
        var rest = value[HeaderBytes..];
        var items = new Dictionary<string, byte[]>(Math.Min(count, 1024), StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var keyLength = Take(ref rest, 2, i);
            var keyBytes = Take(ref rest, BinaryPrimitives.ReadUInt16BigEndian(keyLength), i);
            var valueLength = BinaryPrimitives.ReadInt32BigEndian(Take(ref rest, 4, i));
            if (valueLength < 0)
            {
                throw new FormatException($"Entry {i} has a negative length.");
            }

            var itemValue = Take(ref rest, valueLength, i);
            if (keyBytes.Length > StoreLimits.MaxItemKeyBytes)
            {
                throw new FormatException($"Entry {i} has a {keyBytes.Length}-byte key; this store keeps keys of at most {StoreLimits.MaxItemKeyBytes} bytes.");
            }

            string key;
            try
            {
                key = StrictUtf8.GetString(keyBytes);
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException($"Entry {i} has a key that is not valid UTF-8.", ex);
            }

            if (!items.TryAdd(key, itemValue.ToArray()))
            {
                throw new FormatException($"Entry {i} repeats a key.");
            }
        }

        if (!rest.IsEmpty)
        {
            throw new FormatException($"{rest.Length} bytes follow the {count} entries the header announces.");
        }

        return items;
    }

    private static ReadOnlySpan<byte> Take(ref ReadOnlySpan<byte> rest, int length, int entry)
    {
        if (rest.Length < length)
        {
            throw new FormatException($"The value ends inside entry {entry}.");
        }

        var taken = rest[..length];
        rest = rest[length..];
        return taken;
    }
}
