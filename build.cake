// Build script: `dotnet tool restore && dotnet cake --target=<Task>`.

///////////////////////////////////////////////////////////////////////////////
// ARGUMENTS
///////////////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var solution = "./EtcdSessionStore.slnx";
var testResults = MakeAbsolute(Directory("./artifacts/test-results"));

///////////////////////////////////////////////////////////////////////////////
// HELPERS
///////////////////////////////////////////////////////////////////////////////

bool OnPath(string tool) =>
    StartProcess("sh", new ProcessSettings { Arguments = $"-c \"command -v {tool} >/dev/null 2>&1\"" }) == 0;

bool IsRoot() =>
    StartProcess("sh", new ProcessSettings { Arguments = "-c \"test $(id -u) -eq 0\"" }) == 0;

// Finds a tool on PATH or, as root on Debian/Ubuntu, installs its apt package; otherwise says how.
void EnsureAptTool(string tool, string package)
{
    if (OnPath(tool)) { Information($"{tool}: found on PATH."); return; }
    if (IsRoot() && OnPath("apt-get"))
    {
        Information($"{tool}: not found; installing Debian package {package}.");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        if (StartProcess("apt-get", new ProcessSettings { Arguments = "update -qq", EnvironmentVariables = env }) != 0
            || StartProcess("apt-get", new ProcessSettings { Arguments = $"install -y -qq {package}", EnvironmentVariables = env }) != 0
            || !OnPath(tool))
        {
            throw new CakeException($"Installing {package} with apt-get failed; install it by hand and run again.");
        }
        return;
    }
    throw new CakeException($"{tool} is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install -y {package}) or run this build as root on Debian/Ubuntu to have it installed.");
}

///////////////////////////////////////////////////////////////////////////////
// TASKS
///////////////////////////////////////////////////////////////////////////////

Task("EnsureEtcd")
    .Description("Makes sure etcd is available: on PATH, or installed with apt-get when running as root.")
    .Does(() => EnsureAptTool("etcd", "etcd-server"));

Task("Build")
    .Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .Description("Runs the whole test suite against real etcd processes that the tests start.")
    .IsDependentOn("EnsureEtcd")
    .IsDependentOn("Build")
    .Does(() =>
{
    CleanDirectory(testResults);
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        ResultsDirectory = testResults,
        Loggers = new[] { "trx", "console;verbosity=normal" },
    });
});

// Benchmarks: each starts its own etcd (fsync on) and, for Bench, redis-server and the app instances, and
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

Task("Bench")
    .Description("This store vs the stock session over Redis and in memory, under wrk; about 5 minutes. Options: --duration=10 --rounds=3 --connections=16 --sessions=1024.")
    .IsDependentOn("EnsureBenchTools")
    .Does(() => RunBenchApp("http", new ProcessArgumentBuilder()
        .Append("--duration").Append(Argument("duration", "10"))
        .Append("--rounds").Append(Argument("rounds", "3"))
        .Append("--connections").Append(Argument("connections", "16"))
        .Append("--sessions").Append(Argument("sessions", "1024"))));

Task("BenchScale")
    .Description("Latency as one etcd member fills with sessions, then expiry with no cleanup job; about 6 minutes. Options: --checkpoints=1000,10000,100000 --idle=180 --samples=2000.")
    .IsDependentOn("EnsureBenchTools")
    .Does(() => RunBenchApp("scale", new ProcessArgumentBuilder()
        .Append("--checkpoints").Append(Argument("checkpoints", "1000,10000,100000"))
        .Append("--idle").Append(Argument("idle", "180"))
        .Append("--samples").Append(Argument("samples", "2000"))));

Task("BenchAllocations")
    .Description("Allocations and time per request of the store and the middleware (BenchmarkDotNet); about 3 minutes.")
    .IsDependentOn("EnsureEtcd")
    .Does(() => DotNetRun("./bench/EtcdSessionStore.RequestBenchmarks/EtcdSessionStore.RequestBenchmarks.csproj",
        new ProcessArgumentBuilder(), new DotNetRunSettings { Configuration = "Release" }));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
