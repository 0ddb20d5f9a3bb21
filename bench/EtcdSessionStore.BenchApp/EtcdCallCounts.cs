using System.Globalization;
using System.Text.RegularExpressions;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The unary gRPC calls an etcd member has completed so far, by method, as etcd itself counts them
/// (<c>grpc_server_handled_total</c> on its Prometheus endpoint <c>GET {clientUrl}/metrics</c>, every status
/// code). Scraped before and after a measured cell, the difference divided by the requests served is what a
/// request costs etcd in calls, whoever made them. Streams (Watch, LeaseKeepAlive) are counted only when they
/// end, so they are not part of it.
/// </summary>
internal sealed partial class EtcdCallCounts
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly Dictionary<string, double> _byMethod;

    private EtcdCallCounts(Dictionary<string, double> byMethod) => _byMethod = byMethod;

    public double Range => Of("Range");

    public double Txn => Of("Txn");

    public double Total => _byMethod.Values.Sum();

    /// <summary>Every call that is neither a Range nor a Txn (Put, LeaseGrant, DeleteRange, Status, ...).</summary>
    public double Other => Total - Range - Txn;

    public static async Task<EtcdCallCounts> ScrapeAsync(string clientUrl)
    {
        var text = await Http.GetStringAsync(new Uri(new Uri(clientUrl), "/metrics"));
        return Parse(text);
    }

    public static EtcdCallCounts Parse(string prometheusText)
    {
        var byMethod = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in prometheusText.Split('\n'))
        {
            var match = HandledUnaryCall().Match(line);
            if (match.Success)
            {
                var method = match.Groups["method"].Value;
                var count = double.Parse(match.Groups["count"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
                byMethod[method] = byMethod.GetValueOrDefault(method) + count;
            }
        }

        return new EtcdCallCounts(byMethod);
    }

    /// <summary>The calls made between <paramref name="before"/> and this scrape, divided by <paramref name="requests"/>.</summary>
    public EtcdCallsPerRequest PerRequestSince(EtcdCallCounts before, long requests)
    {
        var n = Math.Max(1, requests);
        return new EtcdCallsPerRequest(
            (Range - before.Range) / n,
            (Txn - before.Txn) / n,
            (Other - before.Other) / n);
    }

    private double Of(string method) => _byMethod.GetValueOrDefault(method);

    // grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 42
    [GeneratedRegex("""^grpc_server_handled_total\{(?=[^}]*grpc_type="unary")[^}]*grpc_method="(?<method>[A-Za-z]+)"[^}]*\}\s+(?<count>[0-9.eE+-]+)""")]
    private static partial Regex HandledUnaryCall();
}
