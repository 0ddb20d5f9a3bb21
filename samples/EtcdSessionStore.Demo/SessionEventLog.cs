using System.Globalization;
using Etcd.AspNetCore.Session;

namespace EtcdSessionStore.Demo;

/// <summary>
/// Logs every session event of the shop, from every instance: run two instances and each one logs what
/// the other does (created, changed, rotated, destroyed, expired). The last events also go to the
/// <see cref="SessionEventRing"/> that the pages show.
/// </summary>
internal sealed partial class SessionEventLog(EtcdSessionEvents events, SessionEventRing ring, ILogger<SessionEventLog> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in events.WatchAsync(stoppingToken))
                {
                    LogEvent(logger, e.Kind, e.SessionId, e.UserName, e.Revision);
                    ring.Add(e);
                }
            }
            catch (EtcdSessionException ex)
            {
                // etcd down at start-up or while reopening the watch: the shop keeps running, the log tries again.
                LogWatchFailed(logger, ex.Kind, ex);
                ring.WatchFailed(string.Create(CultureInfo.InvariantCulture, $"etcd could not be watched ({ex.Kind}); retrying every {RetryDelay.TotalSeconds:0} s."));
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Session event: {Kind} {SessionId} (user {User}, revision {Revision}).")]
    private static partial void LogEvent(ILogger logger, EtcdSessionEventKind kind, string? sessionId, string? user, long revision);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Session events unavailable ({Kind}); retrying.")]
    private static partial void LogWatchFailed(ILogger logger, EtcdSessionErrorKind kind, Exception exception);
}
