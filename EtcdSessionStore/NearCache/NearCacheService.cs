using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// Runs the near cache for the app's lifetime: the heartbeat, the watch, and a check that restarts the watch (on the
/// next member) when it has gone silent, the way a watch on a frozen or partitioned member does.
/// </summary>
internal sealed partial class NearCacheService : IHostedService, IAsyncDisposable
{
    private readonly SessionCache _cache;
    private readonly FreshnessHeartbeat _heartbeat;
    private readonly SessionWatch _watch;
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxStaleness;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    public NearCacheService(SessionCache cache, FreshnessHeartbeat heartbeat, SessionWatch watch, TimeProvider time, TimeSpan maxStaleness, ILogger logger)
    {
        _cache = cache;
        _heartbeat = heartbeat;
        _watch = watch;
        _time = time;
        _maxStaleness = maxStaleness;
        _logger = logger;
    }

    /// <summary>The service that runs <paramref name="cache"/>, or one that does nothing when the cache is off.</summary>
    public static IHostedService Create(SessionCache? cache, EtcdSessionOptions options, EtcdGateway gateway, ExpiryLeasePool leases, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger<NearCacheService>();
        if (cache is null)
        {
            if (options.NearCache.Enabled)
            {
                Log.NoChannel(logger);
            }

            return new Off();
        }

        var heartbeat = new FreshnessHeartbeat(options.KeyPrefix, gateway, leases, cache.Freshness, time, options.NearCache.MaxStaleness, logger);
        var watch = new SessionWatch(options.KeyPrefix, gateway, cache, heartbeat.Key, logger);
        return new NearCacheService(cache, heartbeat, watch, time, options.NearCache.MaxStaleness, logger);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Started(_logger, _maxStaleness.TotalMilliseconds);
        var stopping = _stopping.Token;
        _running = Task.WhenAll(
            Task.Run(() => _watch.RunAsync(stopping), CancellationToken.None),
            Task.Run(() => _heartbeat.RunAsync(stopping), CancellationToken.None),
            Task.Run(() => RestartWhenSilentAsync(stopping), CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping: the loops end at their next await
        }

        await _heartbeat.RemoveAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task RestartWhenSilentAsync(CancellationToken stopping)
    {
        var silence = _maxStaleness * 3;
        var lastRestart = _time.GetTimestamp();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_maxStaleness, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Heartbeats are written every quarter of MaxStaleness: three MaxStaleness without one delivered means the
            // stream (not etcd as a whole, whose failures the heartbeat's own calls show) has stopped delivering. A
            // stream that has delivered none yet is silent since it opened.
            var age = _cache.Freshness.Silence;
            if (age > silence && _time.GetElapsedTime(lastRestart) > silence)
            {
                Log.Silent(_logger, age.Value.TotalMilliseconds);
                _watch.Restart();
                lastRestart = _time.GetTimestamp();
            }
        }
    }

    private sealed class Off : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 77, EventName = "NearCacheNeedsChannel", Level = LogLevel.Information,
            Message = "The near cache is off: the etcd client comes from EtcdSessionOptions.ClientFactory, which offers no channel for the cache's own watch stream. Every read is a linearizable Range.")]
        public static partial void NoChannel(ILogger logger);

        [LoggerMessage(EventId = 75, EventName = "NearCacheStarted", Level = LogLevel.Information,
            Message = "The near cache is on: reads are answered from memory while it can prove it is at most {MaxStalenessMs} ms behind etcd.")]
        public static partial void Started(ILogger logger, double maxStalenessMs);

        [LoggerMessage(EventId = 76, EventName = "NearCacheWatchSilent", Level = LogLevel.Warning,
            Message = "The near cache's watch delivered no heartbeat for {AgeMs:0} ms; it is reopened on another member, and reads go to etcd meanwhile.")]
        public static partial void Silent(ILogger logger, double ageMs);
    }
}
