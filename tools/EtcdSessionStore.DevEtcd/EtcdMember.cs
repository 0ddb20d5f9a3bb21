using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Etcd.AspNetCore.Session.DevEtcd;

/// <summary>
/// One real etcd process on loopback with its own data dir: the one throwaway-etcd launcher of the repository
/// (tests, benchmarks, the soak tool, and the Cake Demo task through this project's Main). A watchdog shell
/// kills it (and removes the data dir) when the process that started it dies, so an aborted run leaves no etcd behind.
/// </summary>
public sealed partial class EtcdMember : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigStop = 19;
    private const int SigCont = 18;

    private readonly string[] _arguments;
    private Process? _process;
    private Process? _watchdog;

    private EtcdMember(string name, int clientPort, int peerPort, string dataDir, string[] arguments, string scheme)
    {
        Name = name;
        ClientPort = clientPort;
        PeerPort = peerPort;
        DataDir = dataDir;
        _arguments = arguments;
        ClientUrl = $"{scheme}://127.0.0.1:{clientPort}";
    }

    public string Name { get; }

    public int ClientPort { get; }

    public int PeerPort { get; }

    public string DataDir { get; }

    public string ClientUrl { get; }

    public string PeerUrl => $"http://127.0.0.1:{PeerPort}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The etcd process id (for example to read its memory use from /proc).</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException($"etcd {Name} has not been started.");

    /// <summary>The server version as etcd reports it on <c>/version</c>, read when it became healthy.</summary>
    public string Version { get; private set; } = "";

    /// <summary>Describes a member; <see cref="StartAsync"/> runs it. <paramref name="initialCluster"/> null means a single member.</summary>
    /// <param name="fsync">Write to disk as production etcd does; off (the default) for tests that claim nothing about durability.</param>
    public static EtcdMember Define(string name, int clientPort, int peerPort, string? initialCluster = null, string? clusterToken = null,
        IEnumerable<string>? extraArguments = null, string scheme = "http", bool fsync = false)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"etcd-{name}-{Guid.NewGuid():N}");
        var args = new List<string>
        {
            "--name", name,
            "--data-dir", dataDir,
            "--listen-client-urls", $"{scheme}://127.0.0.1:{clientPort}",
            "--advertise-client-urls", $"{scheme}://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", initialCluster ?? $"{name}=http://127.0.0.1:{peerPort}",
            "--initial-cluster-state", "new",
            "--initial-cluster-token", clusterToken ?? $"t-{name}",
            // Quick elections; and, unless asked otherwise, no fsync (tests only, never for benchmarks or durability claims).
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
            "--log-level", "error",
        };
        if (!fsync)
        {
            args.Add("--unsafe-no-fsync");
        }

        args.AddRange(extraArguments ?? []);
        return new EtcdMember(name, clientPort, peerPort, dataDir, [.. args], scheme);
    }

    /// <summary>Starts a single member on free ports and waits until it serves.</summary>
    /// <param name="healthClient">How to reach <c>/health</c> over TLS (CA, client certificate); null for plain http.</param>
    /// <param name="fsync">Write to disk as production etcd does: on for benchmarks and the demo.</param>
    public static async Task<EtcdMember> StartSingleAsync(string name, IEnumerable<string>? extraArguments = null, string scheme = "http",
        Func<HttpClient>? healthClient = null, bool fsync = false)
    {
        var member = Define(name, FreePort(), FreePort(), extraArguments: extraArguments, scheme: scheme, fsync: fsync);
        member.HealthClient = healthClient;
        await member.StartAsync();
        return member;
    }

    /// <summary>Makes the HTTP client that polls <c>/health</c>; the default speaks plain http.</summary>
    public Func<HttpClient>? HealthClient { get; set; }

    public async Task StartAsync(bool waitUntilReady = true)
    {
        Directory.CreateDirectory(DataDir);
        var start = new ProcessStartInfo(EtcdBinary.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in _arguments)
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("etcd did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { LastErrors.Enqueue(e.Data); while (LastErrors.Count > 50) { LastErrors.TryDequeue(out string? _); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _watchdog = StartWatchdog(_process.Id);
        if (waitUntilReady)
        {
            await WaitUntilHealthyAsync(TimeSpan.FromSeconds(20));
        }
    }

    public System.Collections.Concurrent.ConcurrentQueue<string> LastErrors { get; } = new();

    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var http = HealthClient?.Invoke() ?? new HttpClient();
        http.Timeout = TimeSpan.FromSeconds(1);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"etcd {Name} exited with {_process.ExitCode}: {string.Join('\n', LastErrors)}");
            }

            try
            {
                var body = await http.GetStringAsync($"{ClientUrl}/health");
                if (body.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                {
                    Version = await http.GetStringAsync($"{ClientUrl}/version");
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"etcd {Name} was not healthy within {timeout}: {string.Join('\n', LastErrors)}");
    }

    /// <summary>Completes when the etcd process exits.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) =>
        (_process ?? throw new InvalidOperationException($"etcd {Name} has not been started.")).WaitForExitAsync(cancellationToken);

    /// <summary>SIGKILL: the process dies at once, as in a crash. The data dir stays for a restart.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            _ = Kill(p.Id, SigKill);
            await p.WaitForExitAsync();
        }
    }

    /// <summary>SIGSTOP: the process is frozen; connections stay open and hang.</summary>
    public void Freeze() => Kill(_process!.Id, SigStop);

    /// <summary>SIGCONT: undoes <see cref="Freeze"/>.</summary>
    public void Thaw() => Kill(_process!.Id, SigCont);

    public async ValueTask DisposeAsync()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                _ = Kill(p.Id, SigCont);
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync();
            }

            p.Dispose();
        }

        if (_watchdog is { HasExited: false } w)
        {
            w.Kill();
        }

        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Process StartWatchdog(int etcdPid)
    {
        var host = Environment.ProcessId;
        var script = $"while kill -0 {host} 2>/dev/null && kill -0 {etcdPid} 2>/dev/null; do sleep 1; done; kill -9 {etcdPid} 2>/dev/null; kill -0 {host} 2>/dev/null || rm -rf '{DataDir}'";
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        return Process.Start(start)!;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
