using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcd.AspNetCore.Session.Events;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Session events from every app instance, read from an etcd watch on the sessions prefix: created,
/// changed, rotated, destroyed, expired. Registered by <c>AddEtcdSession</c>. A watch is a hint, not a
/// ledger: it resumes after the last revision it delivered when its stream breaks (on another member), and
/// when that history has been compacted it reports <see cref="EtcdSessionEventKind.Resynced"/> and continues
/// from the present.
/// See docs/events.md.
/// </summary>
public sealed partial class EtcdSessionEvents
{
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
    /// watch; enumerate it from one consumer.
    /// </summary>
    /// <exception cref="EtcdSessionException">etcd could not be reached to start the watch.</exception>
    public IAsyncEnumerable<EtcdSessionEvent> WatchAsync(CancellationToken cancellationToken = default) =>
        WatchFromAsync(startRevision: null, cancellationToken);

    /// <summary>Events from <paramref name="startRevision"/> on (or from now on when <see langword="null"/>).</summary>
    internal async IAsyncEnumerable<EtcdSessionEvent> WatchFromAsync(long? startRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = SessionKeys.SessionsPrefix(_keyPrefix);
        var events = Channel.CreateUnbounded<EtcdSessionEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var watch = new EtcdWatch(_gateway, ByteString.CopyFromUtf8(prefix), KeyRange.End(prefix), previousValues: true);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = RunAsync(watch, startRevision ?? 0, new Reader(this, prefix, events.Writer), events.Writer, stopping.Token);
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            await running.ConfigureAwait(false);
        }

        static async Task RunAsync(EtcdWatch watch, long from, Reader reader, ChannelWriter<EtcdSessionEvent> events, CancellationToken stopping)
        {
            try
            {
                await watch.RunAsync(from, reader, throwIfFirstOpenFails: true, stopping).ConfigureAwait(false);
                events.TryComplete();
            }
            catch (Exception ex)
            {
                events.TryComplete(ex);
            }
        }
    }

    private async Task<long> CurrentRevisionAsync(string prefix, CancellationToken cancellationToken)
    {
        var range = KeyRange.Prefix(prefix);
        range.CountOnly = true;
        return (await _gateway.RangeAsync(range, cancellationToken).ConfigureAwait(false)).Header.Revision;
    }

    /// <summary>What one <see cref="WatchFromAsync"/> makes of its watch: events, classified, into its consumer's queue.</summary>
    private sealed class Reader(EtcdSessionEvents events, string prefix, ChannelWriter<EtcdSessionEvent> queue) : EtcdWatch.IOwner
    {
        public void Opened(long requestedRevision, long firstRevision) => Log.WatchStarted(events._logger, firstRevision);

        public void Changed(RepeatedField<Mvccpb.Event> changes)
        {
            foreach (var revision in changes.GroupBy(e => e.Kv.ModRevision))
            {
                foreach (var e in SessionEventClassifier.Classify([.. revision], revision.Key, events._time.GetUtcNow()))
                {
                    queue.TryWrite(e);
                }
            }
        }

        public async ValueTask<long> CompactedAsync(long wantedRevision, long compactRevision, CancellationToken cancellationToken)
        {
            // The revisions to resume from are gone: say so, and carry on from the present.
            Log.Resynced(events._logger, wantedRevision, compactRevision);
            var next = await events.CurrentRevisionAsync(prefix, cancellationToken).ConfigureAwait(false) + 1;
            queue.TryWrite(new EtcdSessionEvent(EtcdSessionEventKind.Resynced, null, null, next, events._time.GetUtcNow()));
            return next;
        }

        public void Canceled(string reason) => Log.WatchCanceled(events._logger, reason);

        public void Broken(Exception exception) => Log.WatchBroken(events._logger, exception.Message, exception);

        public void Closed()
        {
        }
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

        [LoggerMessage(EventId = 63, EventName = "SessionWatchBroken", Level = LogLevel.Warning,
            Message = "The session watch broke ({Reason}); reopening it where it stopped, on another member.")]
        public static partial void WatchBroken(ILogger logger, string reason, Exception exception);
    }
}
