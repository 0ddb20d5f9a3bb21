using Etcd.AspNetCore.Session.Diagnostics;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>Everything a session needs that outlives one request: settings, the etcd gateway, leases, serializers.</summary>
internal sealed class SessionBackend
{
    public SessionBackend(
        EtcdSessionOptions options,
        EtcdGateway gateway,
        SessionSerializerSet serializers,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        SessionMetrics? metrics = null)
    {
        Metrics = metrics;
        Options = options;
        Gateway = gateway;
        Serializers = serializers;
        Time = time;
        Leases = new ExpiryLeasePool(gateway, time);
        SessionLogger = loggerFactory.CreateLogger<EtcdSession>();
    }

    public EtcdSessionOptions Options { get; }

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

    /// <summary>When the stored session stops being valid: the earlier of its idle and absolute deadlines.</summary>
    public static DateTimeOffset? DeadlineOf(StoredSession stored)
    {
        var idle = ExpiryLease.ExpiryOf(stored.LeaseId);
        var abs = stored.Header.AbsoluteExpiry;
        return idle is null ? abs : abs is null ? idle : (idle < abs ? idle : abs);
    }

    /// <summary>The expiry a write made now gives: now plus the idle timeout, capped by the absolute deadline.</summary>
    public DateTimeOffset NextExpiry(SessionHeader header, TimeSpan idleTimeout)
    {
        var idle = Time.GetUtcNow() + idleTimeout;
        return header.AbsoluteExpiry is { } abs && abs < idle ? abs : idle;
    }
}
