using System.Buffers;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

/// <summary>The built-in serializers by name, and a byte-level round trip through one.</summary>
internal static class BuiltInSerializers
{
    public static readonly string[] Names = ["JSON", "YAML", "Binary"];

    public static ISessionSerializer Create(string name) => name switch
    {
        "JSON" => new JsonSessionSerializer(),
        "YAML" => new YamlSessionSerializer(),
        "Binary" => new BinarySessionSerializer(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a built-in serializer."),
    };

    public static byte[] Serialize(this ISessionSerializer serializer, IReadOnlyDictionary<string, byte[]> items)
    {
        var output = new ArrayBufferWriter<byte>();
        serializer.Serialize(items, output);
        return output.WrittenSpan.ToArray();
    }
}
