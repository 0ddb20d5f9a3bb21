using dotnet_etcd;
using dotnet_etcd.interfaces;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// Owns the one etcd client (one gRPC channel, thread-safe) that every session shares. The client is made
/// on first use and connects lazily, so the app starts even while etcd is down.
/// </summary>
internal sealed class EtcdClientProvider : IDisposable
{
    private readonly Lazy<IEtcdClient> _client;

    public EtcdClientProvider(IOptions<EtcdSessionOptions> options)
    {
        _client = new Lazy<IEtcdClient>(() => Create(options.Value));
    }

    public IEtcdClient Client => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    private static EtcdClient Create(EtcdSessionOptions options)
    {
        if (!EtcdEndpoints.TryParse(options.Endpoints, out var uris, out var error))
        {
            throw new InvalidOperationException($"EtcdSession:Endpoints '{options.Endpoints}' is invalid: {error}.");
        }

        var connection = EtcdEndpoints.ToConnectionString(uris);
        return string.IsNullOrEmpty(options.Username)
            ? new EtcdClient(connection, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure)
            : new EtcdClient(connection, options.Username, options.Password ?? string.Empty,
                configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
    }
}
