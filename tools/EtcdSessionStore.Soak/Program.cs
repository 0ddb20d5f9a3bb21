using System.Diagnostics;
using Etcd.AspNetCore.Session.Soak;

// Soak: mixed session traffic against a shop-like app backed by a real etcd, for a bounded time.
//   dotnet run -c Release --project tools/EtcdSessionStore.Soak -- [--duration 180] [--users 16] [--endpoints http://127.0.0.1:2379]
//       [--app samples/EtcdSessionStore.Demo/bin/Release/net10.0/EtcdSessionStore.Demo.dll]
// Without --endpoints a throwaway single-member etcd (fsync on) is started and removed afterwards.
// The app (the demo given with --app, or a built-in app with the demo's HTTP surface) runs as a child process
// so that its memory is measured apart from the load generator.
// Exit code 0 only when no request failed.
var options = SoakOptions.Parse(args);
if (options.Serve)
{
    await SoakApp.RunAsync(options.Port, options.Endpoints!);
    return 0;
}

await using var etcd = options.Endpoints is null ? await EtcdMember.StartSingleAsync("bench", fsync: true) : null;
var endpoints = options.Endpoints ?? etcd!.ClientUrl;
var port = SoakOptions.FreePort();
var app = options.App is null ? StartApp(port, endpoints) : StartDemo(options.App, port, endpoints);
try
{
    var report = await new SoakRunner(new Uri($"http://127.0.0.1:{port}"), options, app.Id).RunAsync();
    Console.WriteLine(report);
    return report.Errors == 0 ? 0 : 1;
}
finally
{
    app.Kill(entireProcessTree: true);
    await app.WaitForExitAsync();
}

static Process StartApp(int port, string endpoints)
{
    var self = typeof(SoakApp).Assembly.Location;
    var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
    if (!Environment.ProcessPath!.EndsWith(Path.GetFileNameWithoutExtension(self), StringComparison.Ordinal))
    {
        start.ArgumentList.Add(self); // run through the dotnet host
    }

    foreach (var arg in new[] { "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--endpoints", endpoints })
    {
        start.ArgumentList.Add(arg);
    }

    return Process.Start(start) ?? throw new InvalidOperationException("The soak app did not start.");
}

static Process StartDemo(string dll, int port, string endpoints)
{
    var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll)) };
    foreach (var arg in new[]
    {
        Path.GetFullPath(dll), "--urls", $"http://127.0.0.1:{port}", "--EtcdSession:Endpoints", endpoints,
        "--EtcdSession:KeyPrefix", $"soak/{Guid.NewGuid():N}/", "--Logging:LogLevel:Default", "Warning",
    })
    {
        start.ArgumentList.Add(arg);
    }

    return Process.Start(start) ?? throw new InvalidOperationException("The demo did not start.");
}

