using dotnet_etcd.interfaces;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>One etcd member as <see cref="EtcdEndpointPool"/> sees it: its client and whether it is set aside.</summary>
internal sealed class EtcdEndpoint
{
    private int _setAside;

    /// <param name="name">The endpoint URL, for logs and the <c>server.address</c>/<c>server.port</c> of spans and metrics.</param>
    /// <param name="client">A client for this member only.</param>
    /// <param name="renewAuthToken">Makes the client authenticate again; <see langword="null"/> without authentication.</param>
    public EtcdEndpoint(string name, IEtcdClient client, Action? renewAuthToken)
    {
        Name = name;
        Client = client;
        RenewAuthToken = renewAuthToken;
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

    public bool IsSetAside => Volatile.Read(ref _setAside) == 1;

    /// <summary>True for the caller that set it aside (and so starts the probe).</summary>
    public bool TrySetAside() => Interlocked.CompareExchange(ref _setAside, 1, 0) == 0;

    public void Restore() => Volatile.Write(ref _setAside, 0);
}
