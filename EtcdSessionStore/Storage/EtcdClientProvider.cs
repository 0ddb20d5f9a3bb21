using System.Diagnostics;
using System.Net.Security;
using dotnet_etcd;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// Owns the etcd clients every session shares (one per member, each one gRPC channel, thread-safe), or
/// borrows the app's own through <see cref="EtcdSessionOptions.ClientFactory"/>. Clients are made on first
/// use and connect lazily, so the app starts even while etcd is down.
/// </summary>
internal sealed class EtcdClientProvider : IDisposable
{
    private readonly Lazy<EtcdEndpointPool> _pool;

    public EtcdClientProvider(IOptions<EtcdSessionOptions> options, IServiceProvider services, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger<EtcdGateway>();
        _pool = new Lazy<EtcdEndpointPool>(() =>
        {
            var o = options.Value;
            if (o.ClientFactory is { } factory)
            {
                var client = factory(services) ?? throw new InvalidOperationException("EtcdSessionOptions.ClientFactory returned null; it must return the etcd client to use.");
                return EtcdEndpointPool.Single(client, logger);
            }

            return new EtcdEndpointPool(CreateEndpoints(o), ownsClients: true, EtcdGateway.AttemptTimeoutFor(o.IOTimeout), o.KeyPrefix, logger);
        });
    }

    public EtcdEndpointPool Pool => _pool.Value;

    public void Dispose()
    {
        if (_pool.IsValueCreated)
        {
            _pool.Value.Dispose();
        }
    }

    /// <summary>One client per member.</summary>
    private static List<EtcdEndpoint> CreateEndpoints(EtcdSessionOptions options)
    {
        if (!EtcdEndpoints.TryParse(options.Endpoints, out var uris, out var error))
        {
            throw new InvalidOperationException($"EtcdSession:Endpoints '{options.Endpoints}' is invalid: {error}.");
        }

        EtcdTls? tls = null;
        if (uris[0].Scheme == Uri.UriSchemeHttps && !EtcdTls.TryLoad(options, out tls, out var errors))
        {
            throw new InvalidOperationException(string.Join(' ', errors));
        }

        return [.. uris.Select(uri => CreateEndpoint(EtcdEndpoints.ToConnectionString([uri]), options, tls))];
    }

    private static EtcdEndpoint CreateEndpoint(string connection, EtcdSessionOptions options, EtcdTls? tls)
    {
        // dotnet-etcd ignores the scheme: TLS is on only when the channel is told so.
        Action<GrpcChannelOptions> channel = tls is null
            ? o =>
            {
                WithoutChannelRetries(o);
                o.Credentials = ChannelCredentials.Insecure;
            }
            : o =>
            {
                WithoutChannelRetries(o);
                o.Credentials = ChannelCredentials.SecureSsl;
                tls.Configure(SslOptionsOf(o));
            };

        // Watches run on a channel of their own, so that their streams are not shared with calls.
        var streams = new Lazy<GrpcChannel>(() =>
        {
            var streamOptions = new GrpcChannelOptions();
            channel(streamOptions);
            return GrpcChannel.ForAddress(connection, streamOptions);
        });
        if (string.IsNullOrEmpty(options.Username))
        {
            return new EtcdEndpoint(connection, new EtcdClient(connection, configureChannelOptions: channel, interceptors: options.CallInterceptors), null, streams, null,
                options.StreamInterceptors);
        }

        var password = options.Password ?? string.Empty;
        var client = new EtcdClient(connection, options.Username, password, configureChannelOptions: channel);
        return new EtcdEndpoint(connection, client, RenewOnce(client, options.Username, password), streams, (options.Username, password), options.StreamInterceptors);
    }

    /// <summary>
    /// dotnet-etcd's channel retries <c>Unavailable</c> by itself (5 attempts, from 1 s apart), on gRPC's retrying call
    /// path, which buffers every message. <see cref="EtcdGateway"/> already retries within <c>IOTimeout</c>, on another
    /// member, so the channel only balances.
    /// </summary>
    private static void WithoutChannelRetries(GrpcChannelOptions options) =>
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };

    /// <summary>
    /// Makes the client authenticate again on its next call. Concurrent callers that all saw the expired
    /// token renew it once.
    /// </summary>
    private static Action RenewOnce(EtcdClient client, string username, string password)
    {
        var gate = new Lock();
        var last = 0L;
        return () =>
        {
            lock (gate)
            {
                if (last != 0 && Stopwatch.GetElapsedTime(last) < TimeSpan.FromMilliseconds(500))
                {
                    return;
                }

                // Same credentials: dotnet-etcd drops its cached token and fetches a new one on the next call.
                client.SetCredentials(username, password);
                last = Stopwatch.GetTimestamp();
            }
        };
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
