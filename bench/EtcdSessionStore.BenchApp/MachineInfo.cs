using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>One line describing the machine and the software versions a result was measured with.</summary>
internal static class MachineInfo
{
    public static string Describe(string etcdVersion)
    {
        var cpu = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = long.TryParse(ReadField("/proc/meminfo", "MemTotal")?.Split(' ')[0], out var kb) ? kb : 0;
        var os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {memKb / 1024.0 / 1024.0:0.#} GiB RAM; {os}, kernel {Environment.OSVersion.Version}; " +
            $".NET {Environment.Version}; etcd {EtcdServerVersion(etcdVersion)}";
    }

    public static string RedisVersion() => FirstLine("redis-server", "--version");

    /// <summary>Resident memory of a process in MiB (VmRSS), or NaN when it cannot be read.</summary>
    public static double ResidentMiB(int processId) =>
        long.TryParse(ReadField($"/proc/{processId}/status", "VmRSS")?.Split(' ')[0], out var kb) ? kb / 1024.0 : double.NaN;

    private static string EtcdServerVersion(string versionJson) =>
        System.Text.Json.JsonDocument.Parse(versionJson).RootElement.GetProperty("etcdserver").GetString() ?? "?";

    private static string? ReadField(string file, string name, char separator = ':')
    {
        if (!File.Exists(file))
        {
            return null;
        }

        return File.ReadLines(file)
            .Select(l => l.Split(separator, 2))
            .Where(p => p.Length == 2 && p[0].Trim() == name)
            .Select(p => p[1].Trim())
            .FirstOrDefault();
    }

    private static string FirstLine(string file, string args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true })!;
            var line = process.StandardOutput.ReadLine() ?? "";
            process.WaitForExit();
            return line.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"{file} (not found)";
        }
    }
}
