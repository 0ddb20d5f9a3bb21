using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// What the near cache makes of its watch (<see cref="EtcdWatch"/>) of the heartbeats and the sessions (<c>{prefix}hb/</c>
/// up to the end of <c>{prefix}s/</c>): events update <see cref="SessionCache"/>; this instance's delivered heartbeat
/// proves freshness. The watch starts "now", and the cache covers what follows; every later stream resumes at the next
/// revision, so the coverage has no gap. When etcd compacted that revision away, the events in between are gone: the
/// watch resumes at the compact revision, and the cache drops what is older (<see cref="SessionCache.Cover"/>).
/// </summary>
internal sealed partial class SessionWatch : EtcdWatch.IOwner
{
    private readonly EtcdWatch _watch;
    private readonly SessionCache _cache;
    private readonly ByteString _heartbeatKey;
    private readonly ILogger _logger;

    public SessionWatch(string keyPrefix, EtcdGateway gateway, SessionCache cache, string heartbeatKey, ILogger logger)
    {
        _watch = new EtcdWatch(gateway, ByteString.CopyFromUtf8(FreshnessHeartbeat.KeyPrefixOf(keyPrefix)), KeyRange.End(SessionKeys.SessionsPrefix(keyPrefix)),
            previousValues: false);
        _cache = cache;
        _heartbeatKey = ByteString.CopyFromUtf8(heartbeatKey);
        _logger = logger;
    }

    /// <summary>Drops the current stream and opens a new one (on the next member): it went silent.</summary>
    public void Restart() => _watch.Restart();

    public Task RunAsync(CancellationToken stopping) => _watch.RunAsync(startRevision: 0, this, throwIfFirstOpenFails: false, stopping);

    void EtcdWatch.IOwner.Opened(long requestedRevision, long firstRevision)
    {
        Log.Opened(_logger, requestedRevision);
        if (requestedRevision == 0)
        {
            // Opened "now": it delivers what follows the revision etcd created it at, and nothing before.
            _cache.Cover(firstRevision);
        }

        _cache.Freshness.Watching();
    }

    void EtcdWatch.IOwner.Changed(RepeatedField<Mvccpb.Event> changes)
    {
        foreach (var change in changes)
        {
            if (!change.Kv.Key.Equals(_heartbeatKey))
            {
                _cache.Apply(change);
            }
            else if (change.Type == Mvccpb.Event.Types.EventType.Put)
            {
                _cache.Freshness.HeartbeatDelivered(FreshnessHeartbeat.SequenceOf(change.Kv.Value));
            }
        }
    }

    ValueTask<long> EtcdWatch.IOwner.CompactedAsync(long wantedRevision, long compactRevision, CancellationToken cancellationToken)
    {
        // The revisions before it are gone: resume there, keeping only copies current as of the revision before it or later.
        Log.Compacted(_logger, wantedRevision, compactRevision);
        _cache.Cover(compactRevision);
        return ValueTask.FromResult(compactRevision);
    }

    void EtcdWatch.IOwner.Canceled(string reason) => Log.Canceled(_logger, reason);

    void EtcdWatch.IOwner.Broken(Exception exception) => Log.Broken(_logger, exception.Message, exception);

    void EtcdWatch.IOwner.Closed() => _cache.Freshness.Lost();

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
