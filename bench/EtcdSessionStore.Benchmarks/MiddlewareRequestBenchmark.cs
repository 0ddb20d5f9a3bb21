using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;

namespace Etcd.AspNetCore.Session.Benchmarks;

/// <summary>
/// One whole request through the benchmark app's pipeline (session middleware, asynchronous load, endpoint,
/// commit) in process on TestServer: this store against a local etcd, and the stock session in memory for
/// what the framework itself allocates. Allocations include TestServer's and, for etcd, the gRPC client's.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)] // bounded: each call waits on a real etcd
public class MiddlewareRequestBenchmark
{
    private EtcdMember? _etcd;
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private string _cookie = null!;

    [Params("etcd", "memory")]
    public string Side { get; set; } = "etcd";

    [GlobalSetup]
    public async Task StartAsync()
    {
        var endpoint = "http://127.0.0.1:1";
        if (Side == "etcd")
        {
            _etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
            endpoint = _etcd.ClientUrl;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        BenchServer.TryConfigure(builder, Side, endpoint, "127.0.0.1:1");
        _app = builder.Build();
        BenchServer.MapEndpoints(_app, Side);
        await _app.StartAsync();
        _client = _app.GetTestClient();
        using var seeded = await _client.GetAsync(new Uri("/seed", UriKind.Relative));
        _cookie = seeded.Headers.GetValues("Set-Cookie").First().Split(';')[0];
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true)]
    public async Task<string> ReadRequest()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/read");
        request.Headers.Add("Cookie", _cookie);
        using var response = await _client.SendAsync(request);
        return await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
    }

    [Benchmark]
    public async Task<string> WriteRequest()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/write");
        request.Headers.Add("Cookie", _cookie);
        using var response = await _client.SendAsync(request);
        return await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
    }
}
