// Build script: `dotnet tool restore && dotnet cake --target=<Task>`.

///////////////////////////////////////////////////////////////////////////////
// ARGUMENTS
///////////////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var solution = "./EtcdSessionStore.slnx";
var testResults = MakeAbsolute(Directory("./artifacts/test-results"));
var soakSeconds = Argument("soak-seconds", 180);

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

Task("Soak")
    .Description("Mixed session traffic against a shop-like app on a throwaway etcd for --soak-seconds (default 180); fails on any error. Not part of Test.")
    .IsDependentOn("EnsureEtcd")
    .Does(() =>
{
    DotNetRun("./tools/EtcdSessionStore.Soak/EtcdSessionStore.Soak.csproj",
        new ProcessArgumentBuilder().Append("--duration").Append(soakSeconds.ToString()),
        new DotNetRunSettings { Configuration = configuration });
});

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
