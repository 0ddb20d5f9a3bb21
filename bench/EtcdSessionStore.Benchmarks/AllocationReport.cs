using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Etcd.AspNetCore.Session.Benchmarks;

/// <summary>Writes the request benchmarks' allocated bytes and median time per operation into docs/benchmarks.md (section <c>alloc</c>).</summary>
internal static class AllocationReport
{
    public static void Write(IReadOnlyCollection<Summary> summaries, bool smoke)
    {
        var reports = summaries.SelectMany(s => s.Reports)
            .Where(r => r.ResultStatistics is not null && r.BenchmarkCase.Descriptor.Type.Name.EndsWith("RequestBenchmark", StringComparison.Ordinal))
            .ToArray();
        if (reports.Length == 0)
        {
            return; // no request benchmark ran: docs/benchmarks.md stays as it is
        }

        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (smoke)
        {
            sb.AppendLine("**Smoke run** (shortened with command-line options): placeholder numbers, not for citing.");
            sb.AppendLine();
        }

        sb.AppendLine(c, $"Measured {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC with BenchmarkDotNet (MemoryDiagnoser), one local etcd member (fsync on), on {Environment.ProcessorCount} logical cores, .NET {Environment.Version}.");
        sb.AppendLine();
        sb.AppendLine("| benchmark | side | median time µs | allocated bytes per op | gen0 collections per 1,000 ops |");
        sb.AppendLine("|---|---|---:|---:|---:|");
        foreach (var report in reports)
        {
            var benchmark = report.BenchmarkCase;
            var side = benchmark.Parameters.Items.FirstOrDefault(p => p.Name == "Side")?.Value?.ToString()
                ?? (benchmark.Descriptor.WorkloadMethod.Name.StartsWith("Raw", StringComparison.Ordinal) ? "dotnet-etcd alone" : "etcd");
            var allocated = report.GcStats.GetBytesAllocatedPerOperation(benchmark);
            var gen0 = report.GcStats.Gen0Collections * 1000.0 / Math.Max(1, report.GcStats.TotalOperations);
            sb.AppendLine(c, $"| {benchmark.Descriptor.Type.Name}.{benchmark.Descriptor.WorkloadMethod.Name} | {side} | {report.ResultStatistics!.Median / 1000:N1} | {allocated:N0} | {gen0:0.00} |");
        }

        BenchDoc.Replace(BenchDoc.DocsDirectory(BenchArguments.Parse([])), "alloc", sb.ToString());
    }
}
