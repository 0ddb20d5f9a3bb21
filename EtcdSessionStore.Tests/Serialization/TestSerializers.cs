using System.Buffers;
using System.Text;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

/// <summary>A service that custom serializers take from DI, counting what they do.</summary>
public sealed class SerializerUsage
{
    private int _writes;

    public int Writes => _writes;

    public void Wrote() => Interlocked.Increment(ref _writes);
}

/// <summary>
/// A custom serializer named by type: takes a DI service and the options. Writes the <c>Banner</c>
/// serialize option, a newline, then lines of <c>base64(key):base64(value)</c>; reads only payloads that start with the
/// <c>Banner</c> deserialize option.
/// </summary>
public sealed class BannerSerializer(SerializerUsage usage, SessionSerializerOptions options) : ISessionSerializer
{
    private readonly string _writeBanner = options.SerializeOptions.GetValueOrDefault("Banner", "banner");
    private readonly string _readBanner = options.DeserializeOptions.GetValueOrDefault("Banner", "banner");

    public string Name => "Banner";

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        usage.Wrote();
        var text = new StringBuilder(_writeBanner).Append('\n');
        foreach (var (key, value) in items)
        {
            text.Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(key))).Append(':').Append(Convert.ToBase64String(value)).Append('\n');
        }

        output.Write(Encoding.UTF8.GetBytes(text.ToString()));
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload)
    {
        var lines = Encoding.UTF8.GetString(payload).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] != _readBanner)
        {
            throw new FormatException($"The payload does not start with the banner '{_readBanner}'.");
        }

        return lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => Encoding.UTF8.GetString(Convert.FromBase64String(p[0])), p => Convert.FromBase64String(p[1]));
    }
}

/// <summary>A custom serializer without options: only a DI service.</summary>
public sealed class PlainCustomSerializer(SerializerUsage usage) : ISessionSerializer
{
    private readonly BinarySessionSerializer _inner = new();

    public string Name => "PlainCustom";

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        usage.Wrote();
        _inner.Serialize(items, output);
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload) => _inner.Deserialize(payload);
}

/// <summary>A serializer whose name is taken by a built-in one.</summary>
public sealed class ImpostorSerializer : ISessionSerializer
{
    public string Name => "json";

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output) => throw new NotSupportedException();

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload) => throw new NotSupportedException();
}

/// <summary>A serializer whose constructor fails.</summary>
public sealed class BrokenSerializer : ISessionSerializer
{
    public BrokenSerializer() => throw new InvalidOperationException("the key file is missing");

    public string Name => "Broken";

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output) => throw new NotSupportedException();

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload) => throw new NotSupportedException();
}
