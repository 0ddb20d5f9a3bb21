using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Etcd.AspNetCore.Session.Soak;

/// <summary>Command line of the soak tool.</summary>
internal sealed record SoakOptions(bool Serve, int Port, string? Endpoints, TimeSpan Duration, int Users, TimeSpan ReportEvery, string? App)
{
    public static SoakOptions Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        return new SoakOptions(
            Serve: args.Length > 0 && args[0] == "serve",
            Port: Int("--port", 0),
            Endpoints: Value("--endpoints"),
            Duration: TimeSpan.FromSeconds(Int("--duration", 180)),
            Users: Int("--users", 16),
            ReportEvery: TimeSpan.FromSeconds(Int("--report-every", 15)),
            App: Value("--app"));
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
