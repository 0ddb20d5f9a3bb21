using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcd.AspNetCore.Session.Events;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Session events from every app instance, read from an etcd watch on the sessions prefix: created,
/// changed, rotated, destroyed, expired. Registered by <c>AddEtcdSession</c>. A watch is a hint, not a
/// ledger: it resumes from the last revision it saw after a reconnect, and when that history has been
/// compacted it reports <see cref="EtcdSessionEventKind.Resynced"/> and continues from the present.
/// See docs/events.md.
/// </summary>
public sealed partial class EtcdSessionEvents
{
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    private readonly EtcdGateway _gateway;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    internal EtcdSessionEvents(EtcdGateway gateway, EtcdSessionOptions options, TimeProvider time, ILogger<EtcdSessionEvents> logger)
    {
        _gateway = gateway;
        _keyPrefix = options.KeyPrefix;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Events from now on, until <paramref name="cancellationToken"/> is cancelled. Each call opens its own
    /// watch (on the client's shared stream); enumerate it from one consumer.
    /// </summary>
    /// <exception cref="EtcdSessionException">etcd could not be reached to start the watch.</exception>
    public IAsyncEnumerable<EtcdSessionEvent> WatchAsync(CancellationToken cancellationToken = default) =>
        WatchFromAsync(startRevision: null, cancellationToken);

    /// <summary>Events from <paramref name="startRevision"/> on (or from now on when <see langword="null"/>).</summary>
    internal async IAsyncEnumerable<EtcdSessionEvent> WatchFromAsync(long? startRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = SessionKeys.SessionsPrefix(_keyPrefix);
        var next = startRevision ?? await CurrentRevisionAsync(prefix, cancellationToken).ConfigureAwait(false) + 1;
        while (!cancellationToken.IsCancellationRequested)
        {
            var responses = Channel.CreateUnbounded<WatchResponse>(new UnboundedChannelOptions { SingleReader = true });
            var watchId = await _gateway.WatchAsync(prefix, next, r => responses.Writer.TryWrite(r), cancellationToken).ConfigureAwait(false);
            Log.WatchStarted(_logger, next);
            try
            {
                await foreach (var response in responses.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (response.CompactRevision > 0)
                    {
                        // The revisions to resume from are gone: say so, and carry on from the present.
                        Log.Resynced(_logger, next, response.CompactRevision);
                        next = await CurrentRevisionAsync(prefix, cancellationToken).ConfigureAwait(false) + 1;
                        yield return new EtcdSessionEvent(EtcdSessionEventKind.Resynced, null, null, next, _time.GetUtcNow());
                        break;
                    }

                    if (response.Canceled)
                    {
                        Log.WatchCanceled(_logger, response.CancelReason);
                        await Task.Delay(RestartDelay, _time, cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    foreach (var revision in response.Events.GroupBy(e => e.Kv.ModRevision))
                    {
                        foreach (var e in SessionEventClassifier.Classify([.. revision], revision.Key, _time.GetUtcNow()))
                        {
                            yield return e;
                        }

                        next = revision.Key + 1;
                    }
                }
            }
            finally
            {
                _gateway.CancelWatch(watchId);
            }
        }
    }

    private async Task<long> CurrentRevisionAsync(string prefix, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(prefix);
        range.CountOnly = true;
        return (await _gateway.RangeAsync(range, cancellationToken).ConfigureAwait(false)).Header.Revision;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, EventName = "SessionWatchStarted", Level = LogLevel.Debug,
            Message = "Watching session events from revision {Revision}.")]
        public static partial void WatchStarted(ILogger logger, long revision);

        [LoggerMessage(EventId = 61, EventName = "SessionWatchResynced", Level = LogLevel.Warning,
            Message = "Session events from revision {Revision} were compacted away (compacted up to {CompactRevision}); continuing from the present, events in between are lost.")]
        public static partial void Resynced(ILogger logger, long revision, long compactRevision);

        [LoggerMessage(EventId = 62, EventName = "SessionWatchCanceled", Level = LogLevel.Warning,
            Message = "etcd cancelled the session watch ({Reason}); reopening it where it stopped.")]
        public static partial void WatchCanceled(ILogger logger, string reason);
    }
}
