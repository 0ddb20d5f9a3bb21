using BenchmarkDotNet.Running;
using Etcd.AspNetCore.Session.Benchmarks;

// Runs any benchmark class of this assembly: `dotnet run -c Release -- --filter '*SerializerBenchmark*'`.
// A run that includes the request benchmarks writes their table into docs/benchmarks.md, and exits 1 when a
// read request through this store allocates more than twice the stock in-memory session's.
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToArray();
return AllocationReport.Write(summaries, smoke: args.Any(a => a is "--iterationCount" or "--warmupCount" or "--job" or "-j")) ? 0 : 1;
