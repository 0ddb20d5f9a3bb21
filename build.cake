// Build script: `dotnet tool restore && dotnet cake --target=<Task>`.

///////////////////////////////////////////////////////////////////////////////
// ARGUMENTS
///////////////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var solution = "./EtcdSessionStore.slnx";
var testResults = MakeAbsolute(Directory("./artifacts/test-results"));
var soakSeconds = Argument("soak-seconds", 180);
var versionSuffix = Argument("version-suffix", "");
var packages = MakeAbsolute(Directory("./artifacts/packages"));

///////////////////////////////////////////////////////////////////////////////
// HELPERS
///////////////////////////////////////////////////////////////////////////////

bool OnPath(string tool) =>
    StartProcess("sh", new ProcessSettings { Arguments = $"-c \"command -v {tool} >/dev/null 2>&1\"" }) == 0;

bool IsRoot() =>
    StartProcess("sh", new ProcessSettings { Arguments = "-c \"test $(id -u) -eq 0\"" }) == 0;

// Finds a tool on PATH or, as root on Debian/Ubuntu, installs its apt package; otherwise says how.
void EnsureAptTool(string tool, string package) => EnsureAptPackage(tool, () => OnPath(tool), "is not on PATH", package);

// The same for what is not a command: a library's development files, found by one of their files.
void EnsureAptFile(string file, string package) => EnsureAptPackage(file, () => FileExists(file), "does not exist", package);

void EnsureAptPackage(string what, Func<bool> present, string missing, string package)
{
    if (present()) { Information($"{what}: found."); return; }
    if (IsRoot() && OnPath("apt-get"))
    {
        Information($"{what}: not found; installing Debian package {package}.");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        if (StartProcess("apt-get", new ProcessSettings { Arguments = "update -qq", EnvironmentVariables = env }) != 0
            || StartProcess("apt-get", new ProcessSettings { Arguments = $"install -y -qq {package}", EnvironmentVariables = env }) != 0
            || !present())
        {
            throw new CakeException($"Installing {package} with apt-get failed; install it by hand and run again.");
        }
        return;
    }
    throw new CakeException($"{what} {missing}. Install it (Debian/Ubuntu: sudo apt-get install -y {package}) or run this build as root on Debian/Ubuntu to have it installed.");
}

// Starts a child process that shares this console; a watchdog shell kills it if this build dies without cleaning up.
System.Diagnostics.Process StartChild(string file, IEnumerable<string> arguments, string workingDirectory = null)
{
    var start = new System.Diagnostics.ProcessStartInfo(file) { UseShellExecute = false };
    if (workingDirectory != null) { start.WorkingDirectory = workingDirectory; }
    foreach (var argument in arguments) { start.ArgumentList.Add(argument); }
    var process = System.Diagnostics.Process.Start(start) ?? throw new CakeException($"{file} did not start.");
    var watchdog = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
    watchdog.ArgumentList.Add("-c");
    watchdog.ArgumentList.Add($"while kill -0 {System.Environment.ProcessId} 2>/dev/null && kill -0 {process.Id} 2>/dev/null; do sleep 1; done; kill {process.Id} 2>/dev/null");
    System.Diagnostics.Process.Start(watchdog)?.Dispose();
    return process;
}

int FreeLoopbackPort()
{
    var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}

// Polls url until it answers 200; fails early if the process behind it exits.
void WaitUntilHealthy(string url, System.Diagnostics.Process process, string what)
{
    using var http = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromSeconds(1) };
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (DateTime.UtcNow < deadline)
    {
        if (process.HasExited) { throw new CakeException($"{what} exited with code {process.ExitCode} before it was ready (is its port taken?)."); }
        try { if (http.GetAsync(url).GetAwaiter().GetResult().IsSuccessStatusCode) { return; } }
        catch (Exception ex) when (ex is System.Net.Http.HttpRequestException || ex is TaskCanceledException) { }
        System.Threading.Thread.Sleep(200);
    }
    throw new CakeException($"{what} did not answer {url} within 30 s.");
}

// SIGTERM first, so that a child cleans up after itself (the throwaway etcd removes its data dir); killed if it does not exit.
void StopChild(System.Diagnostics.Process process)
{
    try
    {
        if (!process.HasExited) { StartProcess("kill", new ProcessSettings { Arguments = $"-TERM {process.Id}" }); }
        if (!process.WaitForExit(10_000)) { process.Kill(entireProcessTree: true); }
        process.WaitForExit(10_000);
    }
    catch (InvalidOperationException) { } // already gone
    process.Dispose();
}

///////////////////////////////////////////////////////////////////////////////
// TASKS
///////////////////////////////////////////////////////////////////////////////

Task("EnsureEtcd")
    .Description("Makes sure etcd and etcdctl (the auth tests set up users with it) are available: on PATH, or installed with apt-get when running as root.")
    .Does(() =>
{
    EnsureAptTool("etcd", "etcd-server");
    EnsureAptTool("etcdctl", "etcd-client");
});

Task("EnsureRedis")
    .Description("Makes sure redis-server is available for the import tests (the stock session over Redis): on PATH, or installed with apt-get when running as root.")
    .Does(() => EnsureAptTool("redis-server", "redis-server"));

Task("EnsureChromium")
    .Description("Makes sure Debian's Chromium is available for the browser tests: on PATH, or installed with apt-get when running as root.")
    .Does(() => EnsureAptTool("chromium", "chromium"));

Task("EnsureAotToolchain")
    .Description("Makes sure clang and zlib1g-dev, which a native AOT publish links with, are available: on PATH, or installed with apt-get when running as root.")
    .Does(() =>
{
    EnsureAptTool("clang", "clang");
    EnsureAptFile("/usr/include/zlib.h", "zlib1g-dev");
});

Task("Build")
    .Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .Description("Runs the whole test suite against real etcd processes that the tests start.")
    .IsDependentOn("EnsureEtcd")
    .IsDependentOn("EnsureRedis")
    .IsDependentOn("EnsureChromium")
    .IsDependentOn("EnsureAotToolchain") // the native AOT test publishes the AOT sample
    .IsDependentOn("Build")
    .Does(() =>
{
    CleanDirectory(testResults);
    CleanDirectory("./artifacts/screenshots");
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        ResultsDirectory = testResults,
        Loggers = new[] { "trx", "console;verbosity=normal" },
        // Chromium was just ensured, so a browser that does not start is a failure, not a reason to skip.
        EnvironmentVariables = new Dictionary<string, string> { ["ETCD_SESSION_TESTS_REQUIRE_CHROMIUM"] = "1" },
    });
});

Task("Pack")
    .Description("Builds the EtcdSessionStore package and its symbols package, and the Aspire integrations' packages (docs/aspire.md), into artifacts/packages (version: Directory.Build.props; --version-suffix=preview.1 for a pre-release). See docs/releasing.md.")
    .Does(() =>
{
    CleanDirectory(packages);
    foreach (var project in new[] { "EtcdSessionStore", "EtcdSessionStore.Aspire", "EtcdSessionStore.Aspire.Hosting" })
    {
        DotNetPack($"./{project}/{project}.csproj", new DotNetPackSettings
        {
            Configuration = configuration,
            OutputDirectory = packages,
            VersionSuffix = string.IsNullOrWhiteSpace(versionSuffix) ? null : versionSuffix,
        });
    }
    foreach (var file in GetFiles($"{packages}/*.*nupkg")) { Information($"Packed {file.GetFilename()}"); }
});

Task("Soak")
    .Description("Mixed session traffic against the demo shop on a throwaway etcd for --soak-seconds (default 180); fails on any error. Not part of Test.")
    .IsDependentOn("EnsureEtcd")
    .Does(() =>
{
    // The demo shop is the app under load; the soak tool starts it as a child process on a throwaway etcd.
    DotNetBuild("./samples/EtcdSessionStore.Demo/EtcdSessionStore.Demo.csproj", new DotNetBuildSettings { Configuration = configuration });
    var demo = MakeAbsolute(File($"./samples/EtcdSessionStore.Demo/bin/{configuration}/net10.0/EtcdSessionStore.Demo.dll")).FullPath;
    DotNetRun("./tools/EtcdSessionStore.Soak/EtcdSessionStore.Soak.csproj",
        new ProcessArgumentBuilder().Append("--duration").Append(soakSeconds.ToString()).Append("--app").AppendQuoted(demo),
        new DotNetRunSettings { Configuration = configuration });
});

Task("Demo")
    .Description("Runs the demo shop twice (http://127.0.0.1:5000 and :5001) on one etcd: a throwaway local one unless EtcdSession__Endpoints is set. Ctrl+C stops everything it started.")
    .IsDependentOn("EnsureEtcd")
    .Does(() =>
{
    var project = "./samples/EtcdSessionStore.Demo/EtcdSessionStore.Demo.csproj";
    DotNetBuild(project, new DotNetBuildSettings { Configuration = configuration });
    var bin = MakeAbsolute(Directory($"./samples/EtcdSessionStore.Demo/bin/{configuration}/net10.0")).FullPath;

    var stop = new System.Threading.ManualResetEventSlim();
    using var onInterrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
    using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
    var started = new List<System.Diagnostics.Process>();
    try
    {
        var endpoints = EnvironmentVariable("EtcdSession__Endpoints");
        if (string.IsNullOrWhiteSpace(endpoints))
        {
            // The repository's one throwaway-etcd launcher (tools/EtcdSessionStore.DevEtcd); it removes its data dir on exit.
            var devEtcd = "./tools/EtcdSessionStore.DevEtcd/EtcdSessionStore.DevEtcd.csproj";
            DotNetBuild(devEtcd, new DotNetBuildSettings { Configuration = configuration });
            var clientPort = FreeLoopbackPort();
            endpoints = $"http://127.0.0.1:{clientPort}";
            Information($"Starting a throwaway etcd on {endpoints}.");
            var etcd = StartChild("dotnet", new[]
            {
                MakeAbsolute(File($"./tools/EtcdSessionStore.DevEtcd/bin/{configuration}/net10.0/EtcdSessionStore.DevEtcd.dll")).FullPath,
                "--client-port", clientPort.ToString(), "--peer-port", FreeLoopbackPort().ToString(),
            });
            started.Add(etcd);
            WaitUntilHealthy($"{endpoints}/health", etcd, "etcd");
        }
        else
        {
            Information($"Using the etcd at {endpoints} (EtcdSession__Endpoints).");
        }

        // One after the other: the first instance creates the shared Data Protection key in etcd, the second reads it.
        var urls = new[] { "http://127.0.0.1:5000", "http://127.0.0.1:5001" };
        foreach (var url in urls)
        {
            var peer = urls.Single(u => u != url); // each instance's pages link to the other
            var instance = StartChild("dotnet", new[] { System.IO.Path.Combine(bin, "EtcdSessionStore.Demo.dll"), "--urls", url, "--EtcdSession:Endpoints", endpoints, "--Demo:PeerUrl", peer }, bin);
            started.Add(instance);
            WaitUntilHealthy($"{url}/health", instance, $"The demo on {url}");
        }

        Information("");
        Information($"The demo shop runs on {urls[0]} and {urls[1]}, sharing etcd at {endpoints}.");
        Information("Sign in on one, shop on the other. Press Ctrl+C to stop everything.");
        stop.Wait();
        Information("Stopping.");
    }
    finally
    {
        for (var i = started.Count - 1; i >= 0; i--) { StopChild(started[i]); }
    }
});

// Benchmarks: each starts its own etcd (fsync on) and, for Bench, three redis-servers and the app instances, and
// writes its results between marker comments in docs/benchmarks.md.
Task("EnsureBenchTools")
    .Description("Makes sure etcd, redis-server and wrk are available (apt-get when running as root).")
    .Does(() =>
{
    EnsureAptTool("etcd", "etcd-server");
    EnsureAptTool("redis-server", "redis-server");
    EnsureAptTool("wrk", "wrk");
});

void RunBenchApp(string command, ProcessArgumentBuilder args)
{
    try
    {
        DotNetRun("./bench/EtcdSessionStore.BenchApp/EtcdSessionStore.BenchApp.csproj", args.Prepend(command),
            new DotNetRunSettings { Configuration = "Release" });
    }
    catch (CakeException ex)
    {
        throw new CakeException($"{command} benchmark: a target was missed or the run failed (see PASS/FAIL above; results, if any, are in docs/benchmarks.md). {ex.Message}");
    }
}

// Exports <revision> of this repository into artifacts/bench-baseline and builds its BenchApp there; returns that
// build's program, which Bench then runs as one more side in the same interleaved rounds.
string BuildBaselineBenchApp(string revision)
{
    var directory = MakeAbsolute(Directory($"./artifacts/bench-baseline/{revision}"));
    CleanDirectory(directory);
    if (StartProcess("sh", new ProcessSettings { Arguments = $"-c \"git archive --format=tar '{revision}' | tar -x -C '{directory}'\"" }) != 0)
    {
        throw new CakeException($"git archive {revision} failed: --baseline takes a commit of this repository.");
    }

    DotNetBuild($"{directory}/bench/EtcdSessionStore.BenchApp/EtcdSessionStore.BenchApp.csproj", new DotNetBuildSettings { Configuration = "Release" });
    return $"{directory}/bench/EtcdSessionStore.BenchApp/bin/Release/net10.0/EtcdSessionStore.BenchApp.dll";
}

Task("Bench")
    .Description("This store (near cache on, and off; and with EncryptAtRest on) vs the stock session over Redis (no persistence; AOF with appendfsync everysec; AOF with appendfsync always) and in memory, under wrk, with etcd calls per request counted by etcd; about 14 minutes. Fails unless read >= 2x and write >= 0.8x the requests/s of Redis with no persistence, <= 0.1 etcd calls per cached read and <= 1.1 per write. Options: --duration=10 --rounds=3 --connections=16 --sessions=1024; a smoke run: --duration=2 --rounds=1; --baseline=<commit> also runs the store as that commit built it, in the same rounds (a before/after comparison).")
    .IsDependentOn("EnsureBenchTools")
    .Does(() =>
{
    var arguments = new ProcessArgumentBuilder()
        .Append("--duration").Append(Argument("duration", "10"))
        .Append("--rounds").Append(Argument("rounds", "3"))
        .Append("--connections").Append(Argument("connections", "16"))
        .Append("--sessions").Append(Argument("sessions", "1024"));
    var baseline = Argument("baseline", "");
    if (baseline != "")
    {
        arguments.Append("--baseline").Append(baseline).Append("--baseline-program").Append(BuildBaselineBenchApp(baseline));
    }

    RunBenchApp("http", arguments);
});

Task("BenchScale")
    .Description("Load/commit latency as one etcd member fills (in bulk, in the store's format) to 1M sessions, against a 1k reference; memory, db size, fill time, near-cache hit rate; then expiry with no cleanup job; about 10 minutes. Fails unless p99 stays within 1.5x of the reference and the app's memory within the near cache's SizeLimit. Options: --checkpoints=1000,10000,100000,1000000 --idle=420 --samples=8000 --fill-concurrency=16 --settle=30.")
    .IsDependentOn("EnsureBenchTools")
    .Does(() => RunBenchApp("scale", new ProcessArgumentBuilder()
        .Append("--checkpoints").Append(Argument("checkpoints", "1000,10000,100000,1000000"))
        .Append("--idle").Append(Argument("idle", "420"))
        .Append("--samples").Append(Argument("samples", "8000"))
        .Append("--fill-concurrency").Append(Argument("fill-concurrency", "16"))
        .Append("--settle").Append(Argument("settle", "30"))));

Task("BenchContention")
    .Description("Concurrent writers (1, 4, 16, 64) on one session through the middleware, over one etcd member (fsync on): writes/s, p99, etcd transactions per write, lost writes (must be 0); about 30 s. Options: --writers=1,4,16,64 --duration=5.")
    .IsDependentOn("EnsureEtcd")
    .Does(() => RunBenchApp("contention", new ProcessArgumentBuilder()
        .Append("--writers").Append(Argument("writers", "1,4,16,64"))
        .Append("--duration").Append(Argument("duration", "5"))));

Task("BenchAllocations")
    .Description("Allocations and time per request of the store and the middleware (BenchmarkDotNet); about 2 minutes. Fails when a read request through this store allocates more than 2x the stock in-memory session's.")
    .IsDependentOn("EnsureEtcd")
    .Does(() =>
{
    try
    {
        DotNetRun("./bench/EtcdSessionStore.Benchmarks/EtcdSessionStore.Benchmarks.csproj",
            new ProcessArgumentBuilder().Append("--filter").AppendQuoted("*RequestBenchmark*"), new DotNetRunSettings { Configuration = "Release" });
    }
    catch (CakeException ex)
    {
        throw new CakeException($"allocations benchmark: the read-request target was missed or the run failed (see PASS/FAIL above; results, if any, are in docs/benchmarks.md). {ex.Message}");
    }
});

Task("WritePath")
    .Description("The library types a plain write (load, set, commit) runs through, counted from the runtime's JIT events in a fresh process, for this store (near cache off, and on) and for the stock session; about a minute. Options: --baseline=<commit> counts that commit's build too.")
    .IsDependentOn("EnsureEtcd")
    .Does(() =>
{
    var probe = "bench/EtcdSessionStore.WritePath";
    void Count(string root, string what)
    {
        DotNetBuild($"{root}/{probe}/EtcdSessionStore.WritePath.csproj", new DotNetBuildSettings { Configuration = "Release" });
        var program = $"{root}/{probe}/bin/Release/net10.0/EtcdSessionStore.Benchmarks.WritePath.dll";
        foreach (var arguments in what == "this build" ? new[] { "--store stock", "", "--near-cache on" } : new[] { "" })
        {
            Information(what + ":");
            if (StartProcess("dotnet", new ProcessSettings { Arguments = $"{program} {arguments}" }) != 0)
            {
                throw new CakeException($"write-path {arguments} failed ({what}).");
            }
        }
    }

    Count(MakeAbsolute(Directory(".")).FullPath, "this build");
    var baseline = Argument("baseline", "");
    if (baseline != "")
    {
        // The probe measures through the public API only, so this build's probe runs against the older library.
        var directory = MakeAbsolute(Directory($"./artifacts/write-path-baseline/{baseline}"));
        CleanDirectory(directory);
        if (StartProcess("sh", new ProcessSettings { Arguments = $"-c \"git archive --format=tar '{baseline}' | tar -x -C '{directory}'\"" }) != 0)
        {
            throw new CakeException($"git archive {baseline} failed: --baseline takes a commit of this repository.");
        }

        CopyDirectory($"./{probe}", $"{directory}/{probe}");
        DeleteDirectories(GetDirectories($"{directory}/{probe}/bin").Concat(GetDirectories($"{directory}/{probe}/obj")), new DeleteDirectorySettings { Recursive = true });
        Count(directory.FullPath, $"the build of {baseline}");
    }
});

Task("AotBench")
    .Description("samples/EtcdSessionStore.AotApp published with native AOT and as a normal publish run under the JIT, side by side on one etcd (fsync on): start-up to the first 200, memory after 1,000 requests, reads/s and writes/s under wrk; medians of interleaved rounds, written into docs/aot.md; about 2 minutes after the publishes (the native one takes minutes). Options: --duration=10 --rounds=3 --connections=16.")
    .IsDependentOn("EnsureEtcd")
    .IsDependentOn("EnsureAotToolchain")
    .Does(() =>
{
    EnsureAptTool("wrk", "wrk");
    var app = "EtcdSessionStore.AotApp";
    var output = MakeAbsolute(Directory("./artifacts/aot-bench"));
    // Each publish in its own artifacts folder, so neither touches the other's (or the solution's) obj.
    void Publish(string kind, DotNetPublishSettings settings)
    {
        settings.Configuration = "Release";
        settings.ArgumentCustomization = args => args.Append("--artifacts-path").AppendQuoted($"{output}/{kind}");
        DotNetPublish($"./samples/{app}/{app}.csproj", settings);
    }
    Publish("native", new DotNetPublishSettings { Runtime = "linux-x64" });
    Publish("jit", new DotNetPublishSettings { MSBuildSettings = new DotNetMSBuildSettings().WithProperty("PublishAot", "false") });
    RunBenchApp("aot", new ProcessArgumentBuilder()
        .Append("--native").AppendQuoted($"{output}/native/publish/{app}/release_linux-x64/{app}")
        .Append("--jit").AppendQuoted($"{output}/jit/publish/{app}/release/{app}.dll")
        .Append("--duration").Append(Argument("duration", "10"))
        .Append("--rounds").Append(Argument("rounds", "3"))
        .Append("--connections").Append(Argument("connections", "16")));
});

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
