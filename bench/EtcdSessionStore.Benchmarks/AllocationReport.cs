using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Etcd.AspNetCore.Session.Benchmarks;

/// <summary>
/// Writes the request benchmarks' allocated bytes and median time per operation into docs/benchmarks.md (section
/// <c>alloc</c>), with the target: a read request through this store (default options, so the near cache is on
/// where the library has one) allocates at most twice what the same request allocates with the stock in-memory session.
/// </summary>
internal static class AllocationReport
{
    public const double ReadRequestTarget = 2.0;

    /// <returns>False when the read-request target was measured and missed.</returns>
    public static bool Write(IReadOnlyCollection<Summary> summaries, bool smoke)
    {
        var reports = summaries.SelectMany(s => s.Reports)
            .Where(r => r.ResultStatistics is not null && r.BenchmarkCase.Descriptor.Type.Name.EndsWith("RequestBenchmark", StringComparison.Ordinal))
            .ToArray();
        if (reports.Length == 0)
        {
            return true; // no request benchmark ran: docs/benchmarks.md stays as it is
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

        var pass = AppendReadRequestTarget(sb, reports);
        Console.WriteLine(sb.ToString());
        BenchDoc.Replace(BenchDoc.DocsDirectory(BenchArguments.Parse([])), "alloc", sb.ToString());
        return pass;
    }

    private static bool AppendReadRequestTarget(StringBuilder sb, BenchmarkReport[] reports)
    {
        double? ReadRequestBytes(string side) => reports
            .Where(r => r.BenchmarkCase.Descriptor.Type.Name == nameof(MiddlewareRequestBenchmark)
                && r.BenchmarkCase.Descriptor.WorkloadMethod.Name == nameof(MiddlewareRequestBenchmark.ReadRequest)
                && r.BenchmarkCase.Parameters.Items.Any(p => p.Name == "Side" && Equals(p.Value, side)))
            .Select(r => (double?)r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase))
            .FirstOrDefault();
        if (ReadRequestBytes("etcd") is not { } store || ReadRequestBytes("memory") is not { } memory || memory <= 0)
        {
            return true; // not both sides of the read request ran (a --filter): nothing to check
        }

        var ratio = store / memory;
        var pass = ratio <= ReadRequestTarget;
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"- Allocated bytes per read request, this store (default options) / the stock in-memory session: {store:N0} / {memory:N0} = {ratio:0.00}x; <= {ReadRequestTarget:0.0}x: **{(pass ? "PASS" : "FAIL")}**");
        return pass;
    }
}
