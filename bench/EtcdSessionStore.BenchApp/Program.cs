// Benchmarks of the etcd session store against ASP.NET Core's own session. Commands:
//   serve --mode etcd|redis|memory --port N [--etcd URL] [--redis HOST:PORT] [--EtcdSession:Name value ...]   the minimal app under test
//   http  [--duration 10] [--rounds 3] [--connections 16] [--sessions 1024] [--docs DIR]   side-by-side HTTP run
//   scale [--checkpoints 1000,10000,100000,1000000] [--idle 420] [--samples 2000] [--fill-concurrency 16] [--settle 10]
//         [--EtcdSession:Name value ...] [--docs DIR]   store latency and memory as etcd fills up
//   contention [--writers 1,4,16,64] [--duration 5] [--docs DIR]   concurrent writers on one session, lost writes
//   aot   --native PATH --jit PATH [--rounds 3] [--duration 10] [--connections 16] [--docs DIR]   the AOT sample
//         published with native AOT vs under the JIT: start-up, memory, requests/s (into docs/aot.md)
// `http` and `scale` start their own etcd (fsync on) and app processes (`http` also a redis-server per Redis side:
// no persistence, AOF everysec, AOF always), and stop them at the end.
// `--EtcdSession:Name value` sets a store option through configuration (e.g. --EtcdSession:NearCache:Enabled false).
using Etcd.AspNetCore.Session.BenchApp;

var options = BenchArguments.Parse(args.Skip(1));
return args.FirstOrDefault() switch
{
    "serve" => await BenchServer.RunAsync(options),
    "http" => await HttpBenchmark.RunAsync(options),
    "scale" => await ScaleBenchmark.RunAsync(options),
    "contention" => await ContentionBenchmark.RunAsync(options),
    "aot" => await AotBenchmark.RunAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: EtcdSessionStore.BenchApp serve|http|scale|contention|aot [--name value ...] (see Program.cs)");
    return 2;
}
