namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// One side of the HTTP benchmark: an instance of the app in <c>serve</c> mode (<paramref name="Mode"/> plus
/// <paramref name="ServeArguments"/>), or etcd alone driven in process (<paramref name="Mode"/> null).
/// <paramref name="Durability"/> says what a write survives on that side, as the report prints it. A side in
/// <c>redis</c> mode gets a redis-server of its own; <paramref name="RedisAppendFsync"/> is that server's AOF
/// <c>appendfsync</c> policy, or null for no persistence.
/// </summary>
internal sealed record HttpSide(string Key, string Label, string? Mode, string[] ServeArguments, string Durability, string? RedisAppendFsync = null)
{
    private const string EtcdDurability = "fsync on every write, raft";

    /// <summary>The BenchApp build that serves this side, or null for this one (see <see cref="Baseline"/>).</summary>
    public string? Program { get; init; }

    /// <summary>This store with default options (the near cache on, where the library has one).</summary>
    public static readonly HttpSide Store = new("etcd", "this store (etcd)", "etcd", [], EtcdDurability);

    /// <summary>The same app with the near cache switched off through configuration, on its own key prefix.</summary>
    public static readonly HttpSide StoreWithoutNearCache = new("etcd-nocache", "this store, near cache off", "etcd",
        ["--EtcdSession:NearCache:Enabled", "false", "--EtcdSession:KeyPrefix", "bench-nocache/"], EtcdDurability);

    /// <summary>This store with default options but EncryptAtRest on (items sealed in etcd), on its own key prefix: its cost is the ratio to <see cref="Store"/>.</summary>
    public static readonly HttpSide StoreEncrypted = new("etcd-sealed", "this store, EncryptAtRest on", "etcd",
        ["--EtcdSession:EncryptAtRest", "true", "--EtcdSession:KeyPrefix", "bench-sealed/"], EtcdDurability);

    /// <summary>Redis as a cache: no RDB snapshots, no AOF.</summary>
    public static readonly HttpSide Redis = new("redis", "stock session over Redis, no persistence", "redis", [], "none");

    /// <summary>Redis with its AOF fsynced once a second: a crash can lose the last second or so of writes.</summary>
    public static readonly HttpSide RedisAofEverySec = new("redis-aof-sec", "stock session over Redis, AOF everysec", "redis", [],
        "AOF, fsync once a second", "everysec");

    /// <summary>Redis with its AOF fsynced before it answers a write: the durability this store has on one etcd member.</summary>
    public static readonly HttpSide RedisAofAlways = new("redis-aof-all", "stock session over Redis, AOF always", "redis", [],
        "AOF, fsync on every write", "always");

    public static readonly HttpSide Memory = new("memory", "stock session in memory (ceiling)", "memory", [], "none (app process memory)");

    /// <summary>etcd alone: the calls the store makes per request with the near cache off (one Range; a Range, then a guarded txn on a per-second lease).</summary>
    public static readonly HttpSide RawStoreCalls = new("raw", "raw etcd, the near-cache-off store's calls without the app: range / range then txn on a per-second lease", null, [], EtcdDurability);

    /// <summary>etcd alone: its plain serializable Range and plain Put.</summary>
    public static readonly HttpSide RawPlain = new("raw2", "raw etcd: serializable range / plain put", null, [], EtcdDurability);

    /// <summary>The app instances, in the order each round runs them.</summary>
    public static readonly HttpSide[] Apps = [Store, StoreEncrypted, StoreWithoutNearCache, Redis, RedisAofEverySec, RedisAofAlways, Memory];

    /// <summary>
    /// This store as an earlier commit built it (<paramref name="program"/> is that build's BenchApp), on its own key
    /// prefix, run in the same rounds as the rest: how a change moved the store's ratios to Redis.
    /// </summary>
    public static HttpSide Baseline(string program, string revision) =>
        new("etcd-base", $"this store at {revision} (baseline)", "etcd", ["--EtcdSession:KeyPrefix", "bench-base/"], EtcdDurability) { Program = program };

    /// <summary>The stock session over Redis, from no persistence to an fsync on every write.</summary>
    public static readonly HttpSide[] RedisSides = [Redis, RedisAofEverySec, RedisAofAlways];

    public static readonly HttpSide[] RawEtcd = [RawStoreCalls, RawPlain];

    /// <summary>The side makes etcd calls, so its cells are counted at etcd.</summary>
    public bool UsesEtcd => Mode is null or "etcd";
}
