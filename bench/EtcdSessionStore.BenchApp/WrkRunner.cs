using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>Runs wrk with the session script (pre-made cookies, one JSON summary line) and parses its result.</summary>
internal static class WrkRunner
{
    public const int Threads = 2;

    public static async Task<LoadResult> RunAsync(Uri url, string method, string cookieFile, int connections, int seconds)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "wrk-session.lua");
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "-t", Threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s", "--timeout", "10s", "-s", script, url.ToString(),
            "--", cookieFile, Threads.ToString(CultureInfo.InvariantCulture), method, url.AbsolutePath,
        })
        {
            start.ArgumentList.Add(arg);
        }

        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start; is it on PATH?");
        var output = await wrk.StandardOutput.ReadToEndAsync();
        var errors = await wrk.StandardError.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRKJSON ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no summary (exit {wrk.ExitCode}): {output}{errors}");
        using var json = JsonDocument.Parse(line["WRKJSON ".Length..]);
        var root = json.RootElement;
        var requests = root.GetProperty("requests").GetInt64();
        var duration = root.GetProperty("durationUs").GetInt64() / 1e6;
        return new LoadResult(
            requests / duration,
            root.GetProperty("p50Us").GetInt64() / 1000.0,
            root.GetProperty("p99Us").GetInt64() / 1000.0,
            requests,
            root.GetProperty("socketErrors").GetInt64() + root.GetProperty("statusErrors").GetInt64());
    }

    public static string Version()
    {
        try
        {
            var start = new ProcessStartInfo("wrk", "-v") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var wrk = Process.Start(start)!;
            var text = wrk.StandardOutput.ReadToEnd() + wrk.StandardError.ReadToEnd();
            wrk.WaitForExit();
            return text.Split('\n')[0].Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "wrk (not found)";
        }
    }
}
