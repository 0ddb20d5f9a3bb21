namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// One side of the HTTP benchmark: an instance of the app in <c>serve</c> mode (<paramref name="Mode"/> plus
/// <paramref name="ServeArguments"/>), or etcd alone driven in process (<paramref name="Mode"/> null).
/// </summary>
internal sealed record HttpSide(string Key, string Label, string? Mode, string[] ServeArguments)
{
    /// <summary>This store with default options (the near cache on, where the library has one).</summary>
    public static readonly HttpSide Store = new("etcd", "this store (etcd)", "etcd", []);

    /// <summary>The same app with the near cache switched off through configuration, on its own key prefix.</summary>
    public static readonly HttpSide StoreWithoutNearCache = new("etcd-nocache", "this store, near cache off", "etcd",
        ["--EtcdSession:NearCache:Enabled", "false", "--EtcdSession:KeyPrefix", "bench-nocache/"]);

    public static readonly HttpSide Redis = new("redis", "stock session over Redis", "redis", []);

    public static readonly HttpSide Memory = new("memory", "stock session in memory (ceiling)", "memory", []);

    /// <summary>etcd alone: the calls the store makes per request with the near cache off (one Range; a Range, then a guarded txn on a per-second lease).</summary>
    public static readonly HttpSide RawStoreCalls = new("raw", "raw etcd, the near-cache-off store's calls without the app: range / range then txn on a per-second lease", null, []);

    /// <summary>etcd alone: its plain serializable Range and plain Put.</summary>
    public static readonly HttpSide RawPlain = new("raw2", "raw etcd: serializable range / plain put", null, []);

    /// <summary>The app instances, in the order each round runs them.</summary>
    public static readonly HttpSide[] Apps = [Store, StoreWithoutNearCache, Redis, Memory];

    public static readonly HttpSide[] RawEtcd = [RawStoreCalls, RawPlain];

    /// <summary>The side makes etcd calls, so its cells are counted at etcd.</summary>
    public bool UsesEtcd => Mode is null or "etcd";
}
