using System.Xml.Linq;
using Etcd.AspNetCore.Session.Storage;
using Google.Protobuf;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.DataProtection;

/// <summary>
/// The Data Protection key ring in etcd: one etcd key per key XML under a prefix, so every app instance reads the same
/// keys (and so each other's session cookies). <see cref="IXmlRepository"/> is synchronous by contract, so reads are
/// served from a copy loaded asynchronously (at start-up by <see cref="EtcdKeyRingLoader"/>, then refreshed in the
/// background, and by the session middleware before it reads a cookie): a request thread never waits on etcd for it.
/// Before the first load succeeds, reads fail at once rather than block or answer "no keys" (which would make Data
/// Protection create a key of its own).
/// </summary>
internal sealed partial class EtcdXmlRepository : IXmlRepository
{
    private readonly EtcdGateway _gateway;
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly Lock _loadGate = new();
    private volatile IReadOnlyCollection<XElement>? _elements;
    private Task? _loading;

    public EtcdXmlRepository(EtcdGateway gateway, string prefix, ILogger logger)
    {
        _gateway = gateway;
        _prefix = prefix;
        _logger = logger;
    }

    /// <summary>The key ring has been read from etcd at least once.</summary>
    public bool IsLoaded => _elements is not null;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (_elements is { } elements)
        {
            return elements;
        }

        _ = LoadAsync(CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // for the next caller
        throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable,
            "The Data Protection key ring has not been read from etcd yet (etcd unreachable since start-up); it is being loaded in the background.");
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        // Data Protection creates a key rarely (first start, then every 90 days by default), by the contract's
        // synchronous call; EtcdKeyRingLoader makes it happen at start-up, off the request path.
        Task.Run(() => StoreElementAsync(element, friendlyName, CancellationToken.None)).GetAwaiter().GetResult();
    }

    /// <summary>Reads the key ring from etcd; concurrent callers share one read.</summary>
    /// <exception cref="EtcdSessionException">etcd could not be read within IOTimeout.</exception>
    public Task LoadAsync(CancellationToken cancellationToken)
    {
        Task loading;
        lock (_loadGate)
        {
            loading = _loading ??= ReadAllAsync();
        }

        return loading.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Reads <paramref name="keyRing"/> first if it has not been read yet, so that protecting and unprotecting do not
    /// wait on it synchronously; <see langword="null"/> when there is none or it is read, else why it cannot be.
    /// </summary>
    public static async ValueTask<EtcdSessionException?> EnsureLoadedAsync(EtcdXmlRepository? keyRing, CancellationToken cancellationToken)
    {
        if (keyRing is null || keyRing.IsLoaded)
        {
            return null;
        }

        try
        {
            await keyRing.LoadAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (EtcdSessionException ex)
        {
            return ex;
        }
    }

    private async Task ReadAllAsync()
    {
        try
        {
            _elements = await GetAllElementsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            lock (_loadGate)
            {
                _loading = null;
            }
        }
    }

    internal async Task<IReadOnlyCollection<XElement>> GetAllElementsAsync(CancellationToken cancellationToken)
    {
        var response = await _gateway.RangeAsync(KeyRange.Prefix(_prefix), cancellationToken).ConfigureAwait(false);
        var elements = new List<XElement>(response.Kvs.Count);
        foreach (var kv in response.Kvs)
        {
            try
            {
                elements.Add(XElement.Parse(kv.Value.ToStringUtf8()));
            }
            catch (System.Xml.XmlException ex)
            {
                Log.UnreadableKey(_logger, kv.Key.ToStringUtf8(), ex);
            }
        }

        Log.Loaded(_logger, elements.Count, _prefix);
        return elements;
    }

    internal async Task StoreElementAsync(XElement element, string friendlyName, CancellationToken cancellationToken)
    {
        var key = _prefix + (string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName);
        await _gateway.TxnAsync(KeyTransactions.Put(key, ByteString.CopyFromUtf8(element.ToString(SaveOptions.DisableFormatting))), cancellationToken).ConfigureAwait(false);
        Log.Stored(_logger, key);
        if (_elements is { } known)
        {
            _elements = [.. known, element];
        }
    }

    private static partial class Log
    {
        // Event ids 120..129.
        [LoggerMessage(EventId = 120, EventName = "DataProtectionKeysLoaded", Level = LogLevel.Debug,
            Message = "Loaded {Count} Data Protection key(s) from etcd under '{Prefix}'.")]
        public static partial void Loaded(ILogger logger, int count, string prefix);

        [LoggerMessage(EventId = 121, EventName = "DataProtectionKeyStored", Level = LogLevel.Information,
            Message = "Stored a Data Protection key in etcd at '{Key}'.")]
        public static partial void Stored(ILogger logger, string key);

        [LoggerMessage(EventId = 122, EventName = "DataProtectionKeyUnreadable", Level = LogLevel.Warning,
            Message = "The Data Protection key at '{Key}' in etcd is not valid XML and was skipped.")]
        public static partial void UnreadableKey(ILogger logger, string key, Exception exception);
    }
}
