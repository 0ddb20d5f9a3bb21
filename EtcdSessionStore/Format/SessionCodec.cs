using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Protection;
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
    private readonly ItemSealing? _sealing;
    private readonly ItemSealing? _sealsWrites; // _sealing when it seals new values: decided once, not asked per write

    /// <param name="serializers">The registered serializers; the writer encodes.</param>
    /// <param name="maxSessionBytes">The largest value <see cref="Encode"/> returns (<see cref="EtcdSessionOptions.MaxSessionBytes"/>).</param>
    /// <param name="metrics">Counts refused writes; <see langword="null"/> when built without a meter factory.</param>
    /// <param name="sealing">Opens sealed items, and seals new ones with <see cref="EtcdSessionOptions.EncryptAtRest"/>; without it, sealed items read as corrupt.</param>
    public SessionCodec(SessionSerializerSet serializers, int maxSessionBytes, SessionMetrics? metrics = null, ItemSealing? sealing = null)
    {
        _serializers = serializers;
        _maxSessionBytes = maxSessionBytes;
        _metrics = metrics;
        _sealing = sealing;
        _sealsWrites = sealing is { SealsWrites: true } ? sealing : null;
    }

    /// <summary>The name of the serializer new values are written with.</summary>
    public string WriterName => _serializers.Writer.Name;

    /// <summary>Decodes a stored value with the serializer that wrote it.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.CorruptData"/>: the value cannot be read.</exception>
    public (StoredSession Stored, Dictionary<string, byte[]> Items) Decode(KeyValue kv)
    {
        try
        {
            var (header, payload) = SessionEnvelope.Decode(kv.Value.Memory, out var sealedUnder);
            if (sealedUnder is not null)
            {
                payload = (_sealing ?? throw new FormatException("The stored session's items are sealed, and this reader has no key ring to open them."))
                    .Open(header.Id, sealedUnder, payload.Span);
            }

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

    /// <summary>The header of a stored value, without its items: what needs no key to read when they are sealed.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.CorruptData"/>: the header cannot be read.</exception>
    public static SessionHeader DecodeHeader(KeyValue kv)
    {
        try
        {
            return SessionEnvelope.Decode(kv.Value.Memory).Header;
        }
        catch (FormatException ex)
        {
            throw new EtcdSessionException(EtcdSessionErrorKind.CorruptData, "The stored session cannot be read: " + ex.Message, ex);
        }
    }

    /// <summary>The stored value of a session.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.TooLarge"/>: over <see cref="EtcdSessionOptions.MaxSessionBytes"/>; nothing is sent.</exception>
    public ByteString Encode(SessionHeader header, IReadOnlyDictionary<string, byte[]> items)
    {
        var bytes = SessionEnvelope.Encode(header, _serializers.Writer, items, _sealsWrites);
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
