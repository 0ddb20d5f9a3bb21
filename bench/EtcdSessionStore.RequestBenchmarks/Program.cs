// Allocations and time per request of the store and of the whole middleware pipeline (BenchmarkDotNet with
// MemoryDiagnoser, against a local etcd each benchmark starts). Runs every benchmark without arguments and
// writes the table into docs/benchmarks.md; BenchmarkDotNet arguments (e.g. --filter *Store*) select fewer.
//   dotnet run -c Release --project bench/EtcdSessionStore.RequestBenchmarks
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Etcd.AspNetCore.Session.RequestBenchmarks;

var config = DefaultConfig.Instance.AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1));
var summaries = BenchmarkSwitcher.FromTypes([typeof(StoreRequestBenchmark), typeof(MiddlewareRequestBenchmark)])
    .Run(args.Length == 0 ? ["--filter", "*"] : args, config)
    .ToArray();
AllocationReport.Write(summaries, smoke: args.Length > 0);
