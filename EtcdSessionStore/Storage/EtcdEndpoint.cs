using dotnet_etcd;
using dotnet_etcd.interfaces;
using Etcdserverpb;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>One etcd member as <see cref="EtcdEndpointPool"/> sees it: its client and whether it is set aside.</summary>
internal sealed class EtcdEndpoint
{
    private readonly Interceptor[] _streamInterceptors;
    private int _setAside;

    /// <param name="name">The endpoint URL, for logs and the <c>server.address</c>/<c>server.port</c> of spans and metrics.</param>
    /// <param name="client">A client for this member only.</param>
    /// <param name="renewAuthToken">Makes the client authenticate again; <see langword="null"/> without authentication.</param>
    /// <param name="streams">
    /// A channel of the store's own for long-lived streams (watches), made on first use; <see langword="null"/>
    /// for a client the app supplied, which offers no channel.
    /// </param>
    /// <param name="credentials">The user name and password to authenticate streams with, if etcd needs them.</param>
    /// <param name="streamInterceptors">Interceptors of the streams' calls (tests delay the watch with one).</param>
    public EtcdEndpoint(string name, IEtcdClient client, Action? renewAuthToken, Lazy<GrpcChannel>? streams = null, (string User, string Password)? credentials = null,
        Interceptor[]? streamInterceptors = null)
    {
        _streamInterceptors = streamInterceptors ?? [];
        Name = name;
        Client = client;
        RenewAuthToken = renewAuthToken;
        Streams = streams;
        Credentials = credentials;
        if (Uri.TryCreate(name, UriKind.Absolute, out var url) && url.Host.Length > 0)
        {
            ServerAddress = url.IdnHost;
            ServerPort = url.Port;
        }
    }

    public string Name { get; }

    /// <summary>The member's host name or IP address; <see langword="null"/> for a client the app supplied.</summary>
    public string? ServerAddress { get; }

    /// <summary>The member's port; <see langword="null"/> for a client the app supplied.</summary>
    public int? ServerPort { get; }

    public IEtcdClient Client { get; }

    public Action? RenewAuthToken { get; }

    public Lazy<GrpcChannel>? Streams { get; }

    /// <summary>
    /// The watch service of this member: on the store's own stream channel, or, for a client the app supplied, on that
    /// client's channel (a dotnet-etcd <see cref="EtcdClient"/> exposes it); <see langword="null"/> when there is neither.
    /// </summary>
    public Watch.WatchClient? Watches => Streams is not null
        ? new Watch.WatchClient(Streams.Value.Intercept(_streamInterceptors))
        : (Client as EtcdClient)?.GetConnection().WatchClient;

    public (string User, string Password)? Credentials { get; }

    public bool IsSetAside => Volatile.Read(ref _setAside) == 1;

    /// <summary>True for the caller that set it aside (and so starts the probe).</summary>
    public bool TrySetAside() => Interlocked.CompareExchange(ref _setAside, 1, 0) == 0;

    public void Restore() => Volatile.Write(ref _setAside, 0);
}
