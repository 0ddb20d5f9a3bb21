using dotnet_etcd.interfaces;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>One etcd member as <see cref="EtcdEndpointPool"/> sees it: its client and whether it is set aside.</summary>
internal sealed class EtcdEndpoint
{
    private int _setAside;

    /// <param name="name">The endpoint URL, for logs.</param>
    /// <param name="client">A client for this member only.</param>
    /// <param name="renewAuthToken">Makes the client authenticate again; <see langword="null"/> without authentication.</param>
    public EtcdEndpoint(string name, IEtcdClient client, Action? renewAuthToken)
    {
        Name = name;
        Client = client;
        RenewAuthToken = renewAuthToken;
    }

    public string Name { get; }

    public IEtcdClient Client { get; }

    public Action? RenewAuthToken { get; }

    public bool IsSetAside => Volatile.Read(ref _setAside) == 1;

    /// <summary>True for the caller that set it aside (and so starts the probe).</summary>
    public bool TrySetAside() => Interlocked.CompareExchange(ref _setAside, 1, 0) == 0;

    public void Restore() => Volatile.Write(ref _setAside, 0);
}
