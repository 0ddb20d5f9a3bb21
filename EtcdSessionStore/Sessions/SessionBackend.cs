using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.NearCache;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>Everything a session needs that outlives one request: settings, the etcd gateway, leases, serializers.</summary>
internal sealed partial class SessionBackend
{
    public SessionBackend(
        EtcdSessionOptions options,
        EtcdGateway gateway,
        SessionSerializerSet serializers,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        SessionMetrics? metrics = null,
        SessionCache? nearCache = null,
        NearCacheMetrics? nearCacheMetrics = null)
    {
        Metrics = metrics;
        NearCache = nearCache;
        NearCacheMetrics = nearCacheMetrics;
        Options = options;
        Gateway = gateway;
        Serializers = serializers;
        Time = time;
        Leases = new ExpiryLeasePool(gateway, time);
        SessionLogger = loggerFactory.CreateLogger<EtcdSession>();
        Commits = new SessionCommitQueue(new SessionWriter(this));
        Storage = new SessionStorage(this);
#pragma warning disable CS0618 // reading the retired option only to say that it is ignored
        if (options.MaxCommitAttempts != 5)
        {
            Log.MaxCommitAttemptsIgnored(loggerFactory.CreateLogger<EtcdSessionOptions>(), options.MaxCommitAttempts);
        }
#pragma warning restore CS0618
    }

    /// <summary>Where sessions' commits wait for the one transaction per session this instance has in flight.</summary>
    public SessionCommitQueue Commits { get; }

    /// <summary>The etcd operations of the session lifecycle.</summary>
    public SessionStorage Storage { get; }

    public EtcdSessionOptions Options { get; }

    /// <summary>The near cache; <see langword="null"/> when it is off (every read is a linearizable Range).</summary>
    public SessionCache? NearCache { get; }

    public NearCacheMetrics? NearCacheMetrics { get; }

    /// <summary>The store's metrics; <see langword="null"/> when built without a meter factory.</summary>
    public SessionMetrics? Metrics { get; }

    public EtcdGateway Gateway { get; }

    public ExpiryLeasePool Leases { get; }

    public SessionSerializerSet Serializers { get; }

    public TimeProvider Time { get; }

    public ILogger SessionLogger { get; }

    public string StorageKey(string secret) => SessionKeys.StorageKey(Options.KeyPrefix, secret);

    /// <summary>Decodes a stored value with the serializer that wrote it.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.CorruptData"/>: the value cannot be read.</exception>
    public (StoredSession Stored, Dictionary<string, byte[]> Items) Decode(KeyValue kv)
    {
        try
        {
            var (header, payload) = SessionEnvelope.Decode(kv.Value.Memory);
            var serializer = Serializers.Find(header.Serializer)
                ?? throw new FormatException($"The stored session was written by serializer '{header.Serializer}', which is not registered (registered: {string.Join(", ", Serializers.Names)}).");
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
        var bytes = SessionEnvelope.Encode(header, Serializers.Writer, items);
        if (bytes.Length > Options.MaxSessionBytes)
        {
            Metrics?.Failed(EtcdSessionErrorKind.TooLarge);
            throw new EtcdSessionException(EtcdSessionErrorKind.TooLarge,
                $"Session {header.Id} is {bytes.Length:N0} bytes when serialized; the limit (MaxSessionBytes) is {Options.MaxSessionBytes:N0} bytes. Nothing was written.");
        }

        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>The items of a version this instance read or wrote before.</summary>
    public Dictionary<string, byte[]> DecodeItems(StoredSession stored) =>
        Decode(new KeyValue { Value = stored.Value, ModRevision = stored.ModRevision, Lease = stored.LeaseId }).Items;

    /// <summary>When the stored session stops being valid: the earlier of its idle and absolute deadlines.</summary>
    public static DateTimeOffset? DeadlineOf(StoredSession stored) => SessionDeadline.Of(stored.LeaseId, stored.Header.AbsoluteExpiry);

    /// <summary>The stored session is past its deadline now (etcd may not have removed it yet: leases restart on a leader change).</summary>
    public bool IsPastDeadline(StoredSession stored) => DeadlineOf(stored) is { } deadline && deadline <= Time.GetUtcNow();

    /// <summary>The expiry a write made now gives the session.</summary>
    public DateTimeOffset NextExpiry(SessionHeader header, TimeSpan idleTimeout) => SessionDeadline.Next(Time.GetUtcNow(), idleTimeout, header.AbsoluteExpiry);

    private static partial class Log
    {
        [LoggerMessage(EventId = 19, EventName = "MaxCommitAttemptsIgnored", Level = LogLevel.Warning,
            Message = "EtcdSession:MaxCommitAttempts is set ({Value}) but no longer used: commits retry until IOTimeout is spent. Remove the setting.")]
        public static partial void MaxCommitAttemptsIgnored(ILogger logger, int value);
    }
}
