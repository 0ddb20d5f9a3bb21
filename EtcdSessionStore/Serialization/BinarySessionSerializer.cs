using System.Buffers;
using System.Text;

namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>
/// The compact serializer: no text, no extra dependency, the fastest to write and read. Layout, version 1:
/// <code>
/// [1 byte: layout version = 1][varint: item count]
/// then per item: [varint: key length][key, UTF-8][varint: value length][value bytes]
/// </code>
/// Varints are unsigned LEB128 (7 bits a byte, low bits first), at most 5 bytes, at most <see cref="int.MaxValue"/>.
/// Reading checks every length against the bytes that remain, so a damaged value fails with
/// <see cref="FormatException"/> instead of allocating what it claims.
/// </summary>
internal sealed class BinarySessionSerializer : ISessionSerializer
{
    public const string SerializerName = "Binary";
    private const byte LayoutVersion = 1;
    private const int MaxVarintBytes = 5;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public string Name => SerializerName;

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        var head = output.GetSpan(1 + MaxVarintBytes);
        head[0] = LayoutVersion;
        output.Advance(1 + WriteVarint(head[1..], items.Count));
        foreach (var (key, value) in items)
        {
            var keyBytes = StrictUtf8.GetByteCount(key);
            var span = output.GetSpan((2 * MaxVarintBytes) + keyBytes + value.Length);
            var at = WriteVarint(span, keyBytes);
            at += StrictUtf8.GetBytes(key, span[at..]);
            at += WriteVarint(span[at..], value.Length);
            value.CopyTo(span[at..]);
            output.Advance(at + value.Length);
        }
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload[0] != LayoutVersion)
        {
            throw new FormatException($"The session payload is not in the Binary layout version {LayoutVersion}.");
        }

        var rest = payload[1..];
        var count = ReadVarint(ref rest);

        // Each item takes at least two bytes (two zero lengths): a larger count is a lie, not a reason to allocate.
        if (count > rest.Length / 2)
        {
            throw new FormatException($"The Binary session payload claims {count} items in {rest.Length} bytes.");
        }

        var items = new Dictionary<string, byte[]>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            string key;
            try
            {
                key = StrictUtf8.GetString(ReadChunk(ref rest));
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException($"Item {i} of the Binary session payload has a key that is not valid UTF-8.", ex);
            }

            if (!items.TryAdd(key, ReadChunk(ref rest).ToArray()))
            {
                throw new FormatException($"The Binary session payload holds item '{key}' twice.");
            }
        }

        if (!rest.IsEmpty)
        {
            throw new FormatException($"The Binary session payload has {rest.Length} bytes after its last item.");
        }

        return items;
    }

    private static ReadOnlySpan<byte> ReadChunk(ref ReadOnlySpan<byte> rest)
    {
        var length = ReadVarint(ref rest);
        if (length > rest.Length)
        {
            throw new FormatException($"The Binary session payload claims a {length}-byte field where {rest.Length} bytes remain.");
        }

        var chunk = rest[..length];
        rest = rest[length..];
        return chunk;
    }

    private static int ReadVarint(ref ReadOnlySpan<byte> rest)
    {
        ulong value = 0;
        for (var i = 0; i < MaxVarintBytes && i < rest.Length; i++)
        {
            var b = rest[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (value > int.MaxValue)
                {
                    break;
                }

                rest = rest[(i + 1)..];
                return (int)value;
            }
        }

        throw new FormatException("The Binary session payload has a truncated or oversized length.");
    }

    private static int WriteVarint(Span<byte> span, int value)
    {
        var v = (uint)value;
        var i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[i++] = (byte)v;
        return i;
    }
}
