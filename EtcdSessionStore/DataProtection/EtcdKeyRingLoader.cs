using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.DataProtection;

/// <summary>
/// Loads the key ring from etcd at start-up (waiting at most IOTimeout, so a down etcd does not stop the app from
/// starting), lets Data Protection create its first key there rather than on a request, keeps retrying while etcd is
/// unreachable, and refreshes the copy every few minutes so that keys another instance adds are seen.
/// </summary>
internal sealed partial class EtcdKeyRingLoader : BackgroundService
{
    /// <summary>Data Protection itself re-reads the key ring about once a day; a new key becomes active two days after it is made.</summary>
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly EtcdXmlRepository _repository;
    private readonly IDataProtectionProvider _dataProtection;
    private readonly TimeSpan _ioTimeout;
    private readonly ILogger _logger;

    public EtcdKeyRingLoader(EtcdXmlRepository repository, IDataProtectionProvider dataProtection, TimeSpan ioTimeout, ILogger<EtcdKeyRingLoader> logger)
    {
        _repository = repository;
        _dataProtection = dataProtection;
        _ioTimeout = ioTimeout;
        _logger = logger;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first load before the server takes requests, when etcd answers in time.
        await TryLoadAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = _repository.IsLoaded ? RefreshInterval : retry;
            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var loaded = await TryLoadAsync(stoppingToken).ConfigureAwait(false);
            retry = loaded ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private async Task<bool> TryLoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _repository.LoadAsync(cancellationToken).WaitAsync(_ioTimeout * 2, cancellationToken).ConfigureAwait(false);
            // Resolves the current key now; on a first start this is where Data Protection creates it.
            _ = _dataProtection.CreateProtector(typeof(EtcdKeyRingLoader).FullName!).Protect([]);
            return true;
        }
        catch (Exception ex) when (ex is EtcdSessionException or TimeoutException or System.Security.Cryptography.CryptographicException)
        {
            Log.LoadFailed(_logger, ex);
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 123, EventName = "DataProtectionKeyRingUnavailable", Level = LogLevel.Warning,
            Message = "The Data Protection key ring could not be read from etcd; session cookies are answered as unavailable until it can. Retrying in the background.")]
        public static partial void LoadFailed(ILogger logger, Exception exception);
    }
}
