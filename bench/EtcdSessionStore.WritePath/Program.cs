// The library types a plain write runs through: in a fresh process, with the store started and settled, one stored
// session is loaded, changed and committed (ISession.LoadAsync, Set, CommitAsync) while the runtime reports every method
// it compiles (ReadyToRun code is switched off, so the framework's methods are compiled too). A type counts when code of
// it is compiled during that write, its first run in the process; a compiler-made type (a state machine, a closure)
// counts as the type it is in. A type whose only code the write runs had already run at start-up (a constructor, say) is
// not counted: the count is a floor. The same is measured for the stock session (DistributedSession over the in-memory
// IDistributedCache), counting the types of Microsoft.AspNetCore.Session.
//   write-path [--store etcd|stock] [--near-cache off|on] [--etcd URL]   starts its own etcd unless given one
// Each measurement runs in two child processes of this program: one stores the session, the next (fresh) measures.
using System.Diagnostics;
using System.Diagnostics.Tracing;
using Etcd.AspNetCore.Session;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.DependencyInjection;
using dotnet_etcd;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "";
string Option(string name, string fallback) => args.SkipWhile(a => a != "--" + name).Skip(1).FirstOrDefault() ?? fallback;
var nearCache = Option("near-cache", "off") == "on";
var stock = Option("store", "etcd") == "stock";

switch (command)
{
    case "seed":
        return await SeedAsync(Option("etcd", ""), Option("secret", ""), nearCache);
    case "measure":
        return await MeasureAsync(Option("etcd", ""), Option("secret", ""), nearCache);
    case "" when stock:
        return await MeasureStockAsync();
}

var endpoint = Option("etcd", "");
await using var etcd = endpoint == "" ? await EtcdMember.StartSingleAsync("write-path", fsync: false) : null;
endpoint = etcd?.ClientUrl ?? endpoint;
var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
var self = Environment.GetCommandLineArgs()[0];
if (await RunChildAsync(self, "seed", endpoint, secret, nearCache) is not { ExitCode: 0 } seeded)
{
    return 1;
}

var measured = await RunChildAsync(self, "measure", endpoint, secret, nearCache);
Console.Write(measured.Output);
return measured.ExitCode;

static async Task<(int ExitCode, string Output)> RunChildAsync(string self, string command, string endpoint, string secret, bool nearCache)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, Environment = { ["DOTNET_ReadyToRun"] = "0", ["WRITE_PATH_METHODS"] = Environment.GetEnvironmentVariable("WRITE_PATH_METHODS") } };
    foreach (var arg in new[] { self, command, "--etcd", endpoint, "--secret", secret, "--near-cache", nearCache ? "on" : "off" })
    {
        start.ArgumentList.Add(arg);
    }

    using var child = Process.Start(start)!;
    var output = await child.StandardOutput.ReadToEndAsync();
    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    await child.WaitForExitAsync(timeout.Token);
    if (child.ExitCode != 0)
    {
        Console.Error.WriteLine($"write-path {command} failed ({child.ExitCode}): {output}");
    }

    return (child.ExitCode, output);
}

static async Task<IHost> StartAsync(string endpoint, bool nearCache)
{
    // The write's first call must not pay for the connection. With the near cache on, its watch connects the store's
    // client at start-up; without it, the app's own client, connected here, is handed to the store (a client from
    // ClientFactory offers the cache no channel for its watch, so this is only done with the cache off).
    var client = new EtcdClient(endpoint);
    await client.GetAsync("write-path/warm-up");
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddEtcdSession(options =>
    {
        options.Endpoints = endpoint;
        options.ClientFactory = nearCache ? null : _ => client;
        options.NearCache.Enabled = nearCache;
    });
    var host = builder.Build();
    await host.StartAsync();
    return host;
}

static async Task<int> SeedAsync(string endpoint, string secret, bool nearCache)
{
    using var host = await StartAsync(endpoint, nearCache);
    var session = host.Services.GetRequiredService<ISessionStore>().Create(secret, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
    await session.LoadAsync();
    session.Set("cart", [1, 2, 3]);
    await session.CommitAsync();
    await host.StopAsync();
    return 0;
}

static async Task<int> MeasureAsync(string endpoint, string secret, bool nearCache)
{
    using var host = await StartAsync(endpoint, nearCache);
    var store = host.Services.GetRequiredService<ISessionStore>();
    await Task.Delay(TimeSpan.FromSeconds(3)); // start-up's background work (the near cache's watch and heartbeat) settles
    var types = await TypesOfOneWriteAsync(store, secret, "Etcd.AspNetCore.Session.");
    var check = store.Create(secret, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
    await check.LoadAsync();
    if (!check.TryGetValue("cart", out var stored) || stored is not [4, 5, 6])
    {
        Console.WriteLine("The write was not stored: nothing was measured.");
        return 1;
    }

    Report($"this store, near cache {(nearCache ? "on" : "off")}", types);
    return 0;
}

// Loads the stored session, changes it and commits it, and returns the types of `library` first run meanwhile.
static async Task<SortedSet<string>> TypesOfOneWriteAsync(ISessionStore store, string key, string library)
{
    using var jit = new JitListener(library);
    await Task.Delay(TimeSpan.FromSeconds(1)); // the listener is attached
    var session = store.Create(key, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
    var started = DateTime.UtcNow;
    await session.LoadAsync();
    session.Set("cart", [4, 5, 6]);
    await session.CommitAsync();
    var ended = DateTime.UtcNow;
    await Task.Delay(TimeSpan.FromSeconds(2)); // the runtime delivers its events in batches
    return jit.TypesBetween(started, ended);
}

// The stock session measured the same way, in a fresh process of its own (DOTNET_ReadyToRun=0 set by the caller).
static async Task<int> MeasureStockAsync()
{
    if (Environment.GetEnvironmentVariable("DOTNET_ReadyToRun") != "0")
    {
        var self = Environment.GetCommandLineArgs()[0];
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { self, "--store", "stock" }, Environment = { ["DOTNET_ReadyToRun"] = "0" } };
        using var child = Process.Start(start)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddDistributedMemoryCache();
    builder.Services.AddSession();
    using var host = builder.Build();
    await host.StartAsync();
    var store = host.Services.GetRequiredService<ISessionStore>();
    var key = Guid.NewGuid().ToString();
    // The session is stored as DistributedSession stores it (revision 2, a 3-byte entry count, the 16-byte id, then
    // per entry a 2-byte key length, the key, a 4-byte value length, the value), written straight to the cache so that
    // none of the session's own code runs before the measured write (as the etcd store's seed runs in another process).
    byte[] stored = [2, 0, 0, 1, .. Guid.NewGuid().ToByteArray(), 0, 4, .. "cart"u8, 0, 0, 0, 3, 1, 2, 3];
    await host.Services.GetRequiredService<IDistributedCache>().SetAsync(key, stored, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) });
    Report("the stock session (DistributedSession)", await TypesOfOneWriteAsync(store, key, "Microsoft.AspNetCore.Session."));
    return 0;
}

static void Report(string what, SortedSet<string> types)
{
    Console.WriteLine($"Library types a plain write (load, set, commit) runs through, {what}: {types.Count}");
    foreach (var type in types)
    {
        Console.WriteLine("  " + type);
    }
}

/// <summary>Records, for every method the runtime compiles, its type and when.</summary>
internal sealed class JitListener(string library) : EventListener
{
    private readonly List<(DateTime At, string Type)> _compiled = [];

    public SortedSet<string> TypesBetween(DateTime from, DateTime to)
    {
        lock (_compiled)
        {
            return new(_compiled.Where(c => c.At >= from && c.At <= to).Select(c => c.Type), StringComparer.Ordinal);
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x10); // JitKeyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("MethodJittingStarted", StringComparison.Ordinal) != true || e.PayloadNames is null)
        {
            return;
        }

        var type = e.Payload![e.PayloadNames.IndexOf("MethodNamespace")] as string ?? "";
        // Events can come before the constructor has run (for the runtime's source, from the base constructor).
        if (library is null || !type.StartsWith(library, StringComparison.Ordinal) || type.StartsWith(library + "WritePath", StringComparison.Ordinal) ||
            type.StartsWith(library + "DevEtcd", StringComparison.Ordinal))
        {
            return;
        }

        lock (_compiled)
        {
            var method = Environment.GetEnvironmentVariable("WRITE_PATH_METHODS") == "1" ? " " + type[library.Length..] + "::" + e.Payload[e.PayloadNames.IndexOf("MethodName")] : "";
            _compiled.Add((e.TimeStamp.ToUniversalTime(), DeclaredType(type[library.Length..]) + method));
        }
    }

    /// <summary>The type as declared: without generic arguments, and with a compiler-made nested type (a state machine, a lambda's closure) counted as the type it is in.</summary>
    private static string DeclaredType(string name)
    {
        var generic = name.IndexOf('[', StringComparison.Ordinal);
        var nested = (generic < 0 ? name : name[..generic]).Split('+').TakeWhile(part => !part.StartsWith('<'));
        return string.Join('.', nested);
    }
}
