using BenchmarkDotNet.Running;

// Runs any benchmark class of this assembly: `dotnet run -c Release -- --filter '*SerializerBenchmark*'`.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
