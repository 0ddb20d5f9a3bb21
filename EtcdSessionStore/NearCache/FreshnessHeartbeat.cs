using System.Globalization;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// Writes this instance's heartbeat key (under the watched prefix, on an expiry lease, so it goes when the instance
/// goes) four times per <see cref="NearCacheOptions.MaxStaleness"/>; <see cref="CacheFreshness"/> turns its arrival on the
/// watch into the proof that the cache is current.
/// </summary>
internal sealed partial class FreshnessHeartbeat
{
    /// <summary>How long the heartbeat key outlives an instance that stopped without removing it.</summary>
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromSeconds(30);

    private readonly EtcdGateway _gateway;
    private readonly ExpiryLeasePool _leases;
    private readonly CacheFreshness _freshness;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private long _sequence;

    public FreshnessHeartbeat(string keyPrefix, EtcdGateway gateway, ExpiryLeasePool leases, CacheFreshness freshness, TimeProvider time, TimeSpan maxStaleness, ILogger logger)
    {
        _gateway = gateway;
        _leases = leases;
        _freshness = freshness;
        _time = time;
        _interval = maxStaleness / 4;
        _logger = logger;
        Key = KeyPrefixOf(keyPrefix) + SessionKeys.NewPublicId();
    }

    /// <summary>This instance's heartbeat key.</summary>
    public string Key { get; }

    /// <summary>The prefix under which every instance writes its heartbeat.</summary>
    public static string KeyPrefixOf(string keyPrefix) => keyPrefix + "hb/";

    /// <summary>The heartbeat number a delivered heartbeat value carries.</summary>
    public static long SequenceOf(ByteString value) =>
        long.TryParse(value.Span, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : -1;

    public async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var sequence = ++_sequence;
            try
            {
                var lease = await _leases.AcquireAsync(_time.GetUtcNow() + KeyLifetime, stopping).ConfigureAwait(false);
                _freshness.HeartbeatSending(sequence);
                await _gateway.PutAsync(Key, ByteString.CopyFromUtf8(sequence.ToString(CultureInfo.InvariantCulture)), lease, stopping).ConfigureAwait(false);
            }
            catch (EtcdSessionException ex)
            {
                // Reads bypass the cache once MaxStaleness has passed without a heartbeat: nothing else to do.
                Log.HeartbeatFailed(_logger, ex.Kind, ex);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(_interval, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Removes the heartbeat key when the instance stops (best effort: its lease removes it otherwise).</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _gateway.TxnAsync(KeyTransactions.Delete([Key]), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is EtcdSessionException or OperationCanceledException)
        {
            // The lease removes it within KeyLifetime.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 70, EventName = "NearCacheHeartbeatFailed", Level = LogLevel.Debug,
            Message = "The near cache's heartbeat could not be written ({Kind}); reads bypass the cache until one is delivered.")]
        public static partial void HeartbeatFailed(ILogger logger, EtcdSessionErrorKind kind, Exception exception);
    }
}
