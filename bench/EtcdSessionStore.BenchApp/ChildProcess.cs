using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>A process the benchmark started (redis-server, an app instance); killed with its children on dispose.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly HashSet<int> Running = [];
    private readonly Process _process;

    private static readonly PosixSignalRegistration[] Signals =
    [
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillRunning()),
        PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => KillRunning()),
    ];

    static ChildProcess()
    {
        // Dispose runs on every normal path; this covers a driver that is stopped, so nothing is left behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillRunning();
    }

    private ChildProcess(Process process) => _process = process;

    /// <summary>
    /// Kills the process with this id if the driver exits while the returned registration is alive; dispose
    /// it before stopping the process yourself, so that a reused process id is never killed.
    /// </summary>
    public static IDisposable KillOnExit(int processId)
    {
        lock (Running)
        {
            Running.Add(processId);
        }

        return new Registration(processId);
    }

    public int Id => _process.Id;

    public static ChildProcess Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start; is it on PATH?");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[{Path.GetFileName(file)}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (Running)
        {
            Running.Add(process.Id);
        }

        return new ChildProcess(process);
    }

    /// <summary>
    /// redis-server on loopback with <paramref name="dataDirectory"/> as its data dir and no RDB snapshots: without
    /// <paramref name="appendFsync"/>, no persistence (the cache use the stock Redis session usually makes of it);
    /// with it, an append-only file fsynced by that policy (<c>everysec</c>, <c>always</c>).
    /// </summary>
    public static async Task<(ChildProcess Process, string Endpoint)> StartRedisAsync(string dataDirectory, string? appendFsync = null)
    {
        var port = FreePort();
        string[] persistence = appendFsync is null ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", appendFsync];
        var redis = Start("redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1", "--dir", dataDirectory, "--save", "", .. persistence, "--loglevel", "warning"]);
        await WaitForPortAsync(port, "redis-server");
        return (redis, $"127.0.0.1:{port}");
    }

    /// <summary>
    /// This program (or <paramref name="program"/>, another build of it) in <c>serve</c> mode, as a separate process,
    /// so the app gets its own runtime and GC.
    /// </summary>
    public static async Task<(ChildProcess Process, Uri BaseAddress)> StartAppAsync(string mode, string? program, params string[] extra)
    {
        var port = FreePort();
        var dll = program ?? typeof(ChildProcess).Assembly.Location;
        var app = Start("dotnet", [dll, "serve", "--mode", mode, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra]);
        var address = new Uri($"http://127.0.0.1:{port}/");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 200; i++)
        {
            try
            {
                await http.GetStringAsync(new Uri(address, "health"));
                return (app, address);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        await app.DisposeAsync();
        throw new InvalidOperationException($"The {mode} app did not become ready.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        lock (Running)
        {
            Running.Remove(_process.Id);
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();

        _process.Dispose();
    }

    private static async Task WaitForPortAsync(int port, string what)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"{what} did not start listening on port {port}.");
    }

    private static void KillRunning()
    {
        lock (Running)
        {
            foreach (var id in Running)
            {
                try
                {
                    using var process = Process.GetProcessById(id);
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // already gone
                }
            }

            Running.Clear();
        }
    }

    private sealed class Registration(int processId) : IDisposable
    {
        public void Dispose()
        {
            lock (Running)
            {
                Running.Remove(processId);
            }
        }
    }
}
