using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// The near cache's watch of the heartbeats and the sessions (<c>{prefix}hb/</c> up to the end of <c>{prefix}s/</c>), on a
/// stream of its own. Events update <see cref="SessionCache"/>; this instance's delivered heartbeat proves freshness.
/// The first stream starts "now"; from then on every stream resumes at the next revision (on the next member), so the
/// cache's coverage has no gap. When etcd compacted that revision away, the events in between are gone: the watch
/// resumes at the compact revision, and the cache drops what is older (<see cref="SessionCache.Cover"/>).
/// </summary>
internal sealed partial class SessionWatch
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(2);

    private readonly EtcdGateway _gateway;
    private readonly SessionCache _cache;
    private readonly ByteString _heartbeatKey;
    private readonly ByteString _from;
    private readonly ByteString _to;
    private readonly ILogger _logger;
    private CancellationTokenSource? _current;
    private long _next;

    public SessionWatch(string keyPrefix, EtcdGateway gateway, SessionCache cache, string heartbeatKey, ILogger logger)
    {
        _gateway = gateway;
        _cache = cache;
        _heartbeatKey = ByteString.CopyFromUtf8(heartbeatKey);
        _from = ByteString.CopyFromUtf8(FreshnessHeartbeat.KeyPrefixOf(keyPrefix));
        _to = KeyRange.End(SessionKeys.SessionsPrefix(keyPrefix));
        _logger = logger;
    }

    /// <summary>Drops the current stream and opens a new one (on the next member): it went silent.</summary>
    public void Restart()
    {
        try
        {
            Volatile.Read(ref _current)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the stream ended on its own meanwhile
        }
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        // Every reconnect goes to the next member: the one that failed or went silent is the likeliest to do so again.
        for (int attempt = 0, member = 0; !stopping.IsCancellationRequested; attempt++, member++)
        {
            using var stream = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            Volatile.Write(ref _current, stream);
            try
            {
                using var call = await _gateway.OpenWatchStreamAsync(_from, _to, _next, member, stream.Token).ConfigureAwait(false);
                Log.Opened(_logger, _next);
                if (_next == 0)
                {
                    // Opened "now": it delivers what follows the revision etcd created it at, and nothing before.
                    _next = call.ResponseStream.Current.Header.Revision + 1;
                    _cache.Cover(_next);
                }

                _cache.Freshness.Watching();
                attempt = -1;
                await ReadAsync(call, stream.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is EtcdSessionException or RpcException or OperationCanceledException or IOException)
            {
                Log.Broken(_logger, ex.Message, ex);
            }
            finally
            {
                Volatile.Write(ref _current, null);
                _cache.Freshness.Lost();
            }

            try
            {
                await Task.Delay(ReconnectDelay(attempt), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReadAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            if (response.CompactRevision > 0)
            {
                // The revisions before it are gone: resume there, keeping only copies current as of the revision before it or later.
                Log.Compacted(_logger, _next, response.CompactRevision);
                _next = response.CompactRevision;
                _cache.Cover(_next);
                return;
            }

            if (response.Canceled)
            {
                Log.Canceled(_logger, response.CancelReason);
                return;
            }

            foreach (var change in response.Events)
            {
                if (change.Kv.Key.Equals(_heartbeatKey))
                {
                    if (change.Type == Mvccpb.Event.Types.EventType.Put)
                    {
                        _cache.Freshness.HeartbeatDelivered(FreshnessHeartbeat.SequenceOf(change.Kv.Value));
                    }
                }
                else
                {
                    _cache.Apply(change);
                }

                _next = change.Kv.ModRevision + 1;
            }
        }
    }

    private static TimeSpan ReconnectDelay(int attempt) =>
        attempt <= 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Min(MaxReconnectDelay.TotalMilliseconds, 50 * Math.Pow(2, attempt)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 71, EventName = "NearCacheWatchOpened", Level = LogLevel.Debug,
            Message = "The near cache's watch is open (from revision {Revision}, 0 meaning now).")]
        public static partial void Opened(ILogger logger, long revision);

        [LoggerMessage(EventId = 72, EventName = "NearCacheWatchBroken", Level = LogLevel.Warning,
            Message = "The near cache's watch broke ({Reason}); reads go to etcd until it is back and has caught up.")]
        public static partial void Broken(ILogger logger, string reason, Exception exception);

        [LoggerMessage(EventId = 73, EventName = "NearCacheWatchCompacted", Level = LogLevel.Warning,
            Message = "etcd compacted revision {Revision} away before the near cache's watch resumed (compacted up to {CompactRevision}): sessions cached as of older revisions were dropped, and the watch resumes there.")]
        public static partial void Compacted(ILogger logger, long revision, long compactRevision);

        [LoggerMessage(EventId = 74, EventName = "NearCacheWatchCanceled", Level = LogLevel.Warning,
            Message = "etcd canceled the near cache's watch ({Reason}); it is opened again.")]
        public static partial void Canceled(ILogger logger, string reason);
    }
}
