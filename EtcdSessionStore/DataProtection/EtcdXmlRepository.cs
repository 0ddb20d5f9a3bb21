using System.Xml.Linq;
using Etcd.AspNetCore.Session.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.DataProtection;

/// <summary>
/// The Data Protection key ring in etcd: one etcd key per key XML under a prefix, so every app instance reads
/// the same keys (and so each other's session cookies). <see cref="IXmlRepository"/> is synchronous by contract;
/// Data Protection calls it at start-up, when it creates a key and when its cached key ring expires (about once a
/// day), not per request. Each call is bounded by <see cref="EtcdSessionOptions.IOTimeout"/>.
/// </summary>
internal sealed partial class EtcdXmlRepository : IXmlRepository
{
    private readonly EtcdGateway _gateway;
    private readonly string _prefix;
    private readonly ILogger _logger;

    public EtcdXmlRepository(EtcdGateway gateway, string prefix, ILogger logger)
    {
        _gateway = gateway;
        _prefix = prefix;
        _logger = logger;
    }

    public IReadOnlyCollection<XElement> GetAllElements() =>
        // The contract is synchronous; run on the pool so no caller's context is blocked on itself.
        Task.Run(() => GetAllElementsAsync(CancellationToken.None)).GetAwaiter().GetResult();

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        Task.Run(() => StoreElementAsync(element, friendlyName, CancellationToken.None)).GetAwaiter().GetResult();
    }

    internal async Task<IReadOnlyCollection<XElement>> GetAllElementsAsync(CancellationToken cancellationToken)
    {
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(_prefix), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_prefix)) };
        var response = await _gateway.RangeAsync(request, cancellationToken).ConfigureAwait(false);
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
        var put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(element.ToString(SaveOptions.DisableFormatting)) };
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestPut = put });
        await _gateway.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
        Log.Stored(_logger, key);
    }

    /// <summary>The first key after every key that starts with <paramref name="prefix"/> (etcd's range end for a prefix).</summary>
    private static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

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
