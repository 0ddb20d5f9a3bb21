// Runs one throwaway etcd member (fsync on) until Ctrl+C or SIGTERM, then removes its data dir. Usage:
//   dotnet run --project tools/EtcdSessionStore.DevEtcd -- [--client-port N] [--peer-port N]
// Free loopback ports are picked for any port not given. The Cake Demo task runs it.
using System.Globalization;
using System.Runtime.InteropServices;
using Etcd.AspNetCore.Session.DevEtcd;

int Port(string option)
{
    var at = Array.IndexOf(args, option);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : EtcdMember.FreePort();
}

using var stop = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

await using var etcd = EtcdMember.Define("dev", Port("--client-port"), Port("--peer-port"), fsync: true);
await etcd.StartAsync();
Console.WriteLine($"etcd {etcd.Version} serves {etcd.ClientUrl} (data in {etcd.DataDir}). Ctrl+C stops it.");
try
{
    await etcd.WaitForExitAsync(stop.Token);
    Console.Error.WriteLine($"etcd exited on its own: {string.Join('\n', etcd.LastErrors)}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
