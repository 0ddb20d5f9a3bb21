using System.Net.Security;
using dotnet_etcd;
using dotnet_etcd.interfaces;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// Owns the one etcd client (one gRPC channel, thread-safe) that every session shares, or borrows the app's
/// own through <see cref="EtcdSessionOptions.ClientFactory"/>. The client is made on first use and connects
/// lazily, so the app starts even while etcd is down.
/// </summary>
internal sealed class EtcdClientProvider : IDisposable
{
    private readonly Lazy<IEtcdClient> _client;
    private readonly bool _owned;
    private readonly EtcdSessionOptions _options;
    private readonly Lock _renewLock = new();
    private long _lastRenewal;

    public EtcdClientProvider(IOptions<EtcdSessionOptions> options, IServiceProvider services)
    {
        _options = options.Value;
        var factory = options.Value.ClientFactory;
        _owned = factory is null;
        _client = new Lazy<IEtcdClient>(() => factory is null
            ? Create(options.Value)
            : factory(services) ?? throw new InvalidOperationException("EtcdSessionOptions.ClientFactory returned null; it must return the etcd client to use."));
    }

    public IEtcdClient Client => _client.Value;

    /// <summary>
    /// Makes the client authenticate again on its next call, when the store owns it and uses a password;
    /// <see langword="null"/> otherwise. Concurrent callers that all saw the expired token renew it once.
    /// </summary>
    public Action? RenewAuthToken => _owned && !string.IsNullOrEmpty(_options.Username) ? Renew : null;

    public void Dispose()
    {
        if (_owned && _client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    private void Renew()
    {
        lock (_renewLock)
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(_lastRenewal) < TimeSpan.FromMilliseconds(500))
            {
                return;
            }

            // Same credentials: dotnet-etcd drops its cached token and fetches a new one on the next call.
            ((EtcdClient)_client.Value).SetCredentials(_options.Username!, _options.Password ?? string.Empty);
            _lastRenewal = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    private static EtcdClient Create(EtcdSessionOptions options)
    {
        if (!EtcdEndpoints.TryParse(options.Endpoints, out var uris, out var error))
        {
            throw new InvalidOperationException($"EtcdSession:Endpoints '{options.Endpoints}' is invalid: {error}.");
        }

        var connection = EtcdEndpoints.ToConnectionString(uris);
        // dotnet-etcd ignores the scheme: TLS is on only when the channel is told so.
        Action<GrpcChannelOptions> channel = o => o.Credentials = ChannelCredentials.Insecure;
        if (uris[0].Scheme == Uri.UriSchemeHttps)
        {
            if (!EtcdTls.TryLoad(options, out var tls, out var errors))
            {
                throw new InvalidOperationException(string.Join(' ', errors));
            }

            channel = o =>
            {
                o.Credentials = ChannelCredentials.SecureSsl;
                tls!.Configure(SslOptionsOf(o));
            };
        }

        return string.IsNullOrEmpty(options.Username)
            ? new EtcdClient(connection, configureChannelOptions: channel)
            : new EtcdClient(connection, options.Username, options.Password ?? string.Empty, configureChannelOptions: channel);
    }

    /// <summary>The TLS options of the channel's socket handler, which dotnet-etcd may have wrapped (authentication).</summary>
    private static SslClientAuthenticationOptions SslOptionsOf(GrpcChannelOptions options)
    {
        var handler = options.HttpHandler;
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        if (handler is SocketsHttpHandler sockets)
        {
            return sockets.SslOptions;
        }

        var created = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        options.HttpHandler = created;
        return created.SslOptions;
    }
}
