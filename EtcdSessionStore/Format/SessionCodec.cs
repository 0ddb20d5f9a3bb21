using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Serialization;
using Google.Protobuf;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// Turns a stored session value into its header and items and back, with the serializer that wrote it
/// (<see cref="SessionEnvelope"/> holds the layout); shared by the session lifecycle, the directory and the events.
/// </summary>
internal sealed class SessionCodec
{
    private readonly SessionSerializerSet _serializers;
    private readonly int _maxSessionBytes;
    private readonly SessionMetrics? _metrics;

    /// <param name="serializers">The registered serializers; the writer encodes.</param>
    /// <param name="maxSessionBytes">The largest value <see cref="Encode"/> returns (<see cref="EtcdSessionOptions.MaxSessionBytes"/>).</param>
    /// <param name="metrics">Counts refused writes; <see langword="null"/> when built without a meter factory.</param>
    public SessionCodec(SessionSerializerSet serializers, int maxSessionBytes, SessionMetrics? metrics = null)
    {
        _serializers = serializers;
        _maxSessionBytes = maxSessionBytes;
        _metrics = metrics;
    }

    /// <summary>The name of the serializer new values are written with.</summary>
    public string WriterName => _serializers.Writer.Name;

    /// <summary>Decodes a stored value with the serializer that wrote it.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.CorruptData"/>: the value cannot be read.</exception>
    public (StoredSession Stored, Dictionary<string, byte[]> Items) Decode(KeyValue kv)
    {
        try
        {
            var (header, payload) = SessionEnvelope.Decode(kv.Value.Memory);
            var serializer = _serializers.Find(header.Serializer)
                ?? throw new FormatException($"The stored session was written by serializer '{header.Serializer}', which is not registered (registered: {string.Join(", ", _serializers.Names)}).");
            var items = serializer.Deserialize(payload.Span);
            return (new StoredSession(header, kv.Value, kv.ModRevision, kv.Lease), items);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or OverflowException)
        {
            throw new EtcdSessionException(EtcdSessionErrorKind.CorruptData, "The stored session cannot be read: " + ex.Message, ex);
        }
    }

    /// <summary>The stored value of a session.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.TooLarge"/>: over <see cref="EtcdSessionOptions.MaxSessionBytes"/>; nothing is sent.</exception>
    public ByteString Encode(SessionHeader header, IReadOnlyDictionary<string, byte[]> items)
    {
        var bytes = SessionEnvelope.Encode(header, _serializers.Writer, items);
        if (bytes.Length > _maxSessionBytes)
        {
            _metrics?.Failed(EtcdSessionErrorKind.TooLarge);
            throw new EtcdSessionException(EtcdSessionErrorKind.TooLarge,
                $"Session {header.Id} is {bytes.Length:N0} bytes when serialized; the limit (MaxSessionBytes) is {_maxSessionBytes:N0} bytes. Nothing was written.");
        }

        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>The items of a version this instance read or wrote before.</summary>
    public Dictionary<string, byte[]> DecodeItems(StoredSession stored) =>
        Decode(new KeyValue { Value = stored.Value, ModRevision = stored.ModRevision, Lease = stored.LeaseId }).Items;
}
