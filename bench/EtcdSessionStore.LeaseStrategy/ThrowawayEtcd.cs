using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Etcd.AspNetCore.Session.LeaseStrategy;

/// <summary>A single etcd member on free loopback ports and a temporary data dir, removed on dispose.</summary>
internal sealed class ThrowawayEtcd : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dataDir;

    private ThrowawayEtcd(Process process, string dataDir, string endpoint, string version)
    {
        _process = process;
        _dataDir = dataDir;
        Endpoint = endpoint;
        Version = version;
    }

    public string Endpoint { get; }

    public string Version { get; }

    /// <summary>The etcd process id, to read its memory use from /proc.</summary>
    public int ProcessId => _process.Id;

    public static async Task<ThrowawayEtcd> StartAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"etcd-bench-{Guid.NewGuid():N}");
        int clientPort = FreePort(), peerPort = FreePort();
        var start = new ProcessStartInfo("etcd") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
        {
            "--name", "bench", "--data-dir", dataDir, "--log-level", "error",
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"bench=http://127.0.0.1:{peerPort}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("etcd did not start; is it on PATH?");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var endpoint = $"http://127.0.0.1:{clientPort}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                var version = await http.GetStringAsync($"{endpoint}/version");
                return new ThrowawayEtcd(process, dataDir, endpoint, version);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        process.Kill();
        throw new InvalidOperationException("etcd did not become ready.");
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
