using System.Buffers;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Turns a session's items (string keys, byte values) into bytes and back. The store records the
/// <see cref="Name"/> with every session it writes and reads each session with the serializer that wrote it.
/// Implementations must never create types named by the stored data.
/// </summary>
public interface ISessionSerializer
{
    /// <summary>The name stored with each session, e.g. <c>JSON</c>. Compared case-insensitively.</summary>
    string Name { get; }

    /// <summary>Writes <paramref name="items"/> to <paramref name="output"/>.</summary>
    void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output);

    /// <summary>Reads items written by <see cref="Serialize"/>. Throws <see cref="FormatException"/> on data it cannot read.</summary>
    Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload);
}
