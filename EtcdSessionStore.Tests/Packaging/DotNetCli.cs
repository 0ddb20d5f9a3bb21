using System.Diagnostics;
using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.Packaging;

/// <summary>The dotnet CLI as a child process, for the packaging tests.</summary>
internal static class DotNetCli
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Packs share the library's obj folder: one at a time.</summary>
    private static readonly SemaphoreSlim PackGate = new(1, 1);

    /// <summary>The configuration the tests were built in (Release or Debug): the library is packed from that build.</summary>
    public static string Configuration =>
        Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar))!);

    /// <summary>Packs the library, as built, into <paramref name="feed"/> with a pre-release suffix; returns the package version.</summary>
    public static async Task<string> PackLibraryAsync(string feed, string versionSuffix)
    {
        (int ExitCode, string Output) pack;
        await PackGate.WaitAsync();
        try
        {
            pack = await RunAsync(RepositoryPaths.Root,
                "pack", RepositoryPaths.Of("EtcdSessionStore", "EtcdSessionStore.csproj"), "-c", Configuration, "--no-build", "--no-restore",
                "-o", feed, $"-p:VersionSuffix={versionSuffix}");
        }
        finally
        {
            PackGate.Release();
        }

        Assert.That(pack.ExitCode, Is.Zero, pack.Output);
        var package = Directory.GetFiles(feed, "EtcdSessionStore.*.nupkg").Single();
        var version = Path.GetFileNameWithoutExtension(package)["EtcdSessionStore.".Length..];
        Assert.That(version, Does.EndWith("-" + versionSuffix));
        return version;
    }

    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] arguments) =>
        RunAsync(StepTimeout, workingDirectory, arguments);

    /// <summary>As <see cref="RunAsync(string, string[])"/>, for a step that takes longer than a pack or a build (a native AOT publish).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's own MSBuild variables would point the child build at the wrong SDK pieces.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment.Remove("NUGET_PACKAGES");
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var output = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds} s:\n{output}");
        }

        await Task.WhenAll(stdout, stderr);
        return (process.ExitCode, $"dotnet {string.Join(' ', arguments)}\n{output}");
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
