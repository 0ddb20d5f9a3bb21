namespace Etcd.AspNetCore.Session;

/// <summary>
/// Fixed defaults of the etcd session store: the values its options and cookie start with. Read-only fields rather
/// than constants (as ASP.NET Core's <c>SessionDefaults</c>), so that an app compiled against one version reads the
/// values of the version it runs with.
/// </summary>
public static class EtcdSessionDefaults
{
    /// <summary>The default etcd key prefix: <c>aspnet-sessions/</c>.</summary>
    public static readonly string KeyPrefix = "aspnet-sessions/";

    /// <summary>The default configuration section name: <c>EtcdSession</c>.</summary>
    public static readonly string ConfigurationSection = "EtcdSession";

    /// <summary>The default serializer name: <c>JSON</c>.</summary>
    public static readonly string Serializer = "JSON";

    /// <summary>The default endpoint list: a local single-member etcd.</summary>
    public static readonly string Endpoints = "http://127.0.0.1:2379";

    /// <summary>The default limit for one stored session value (<see cref="EtcdSessionOptions.MaxSessionBytes"/>): 1 MiB.</summary>
    public static readonly int MaxSessionBytes = 1_048_576;

    /// <summary>The default session cookie name: <c>.Etcd.Session</c>.</summary>
    public static readonly string CookieName = ".Etcd.Session";

    /// <summary>The default session cookie path: <c>/</c>.</summary>
    public static readonly string CookiePath = "/";
}
