using BenchmarkDotNet.Attributes;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Etcd.AspNetCore.Session.Benchmarks;

/// <summary>
/// What one request costs the store alone, against a real local etcd (fsync on): load and read two values
/// (the read path), and load, change one value and commit (the write path). Allocations include the gRPC client's;
/// the baseline is one raw dotnet-etcd Range of the same key, what the read path cannot go below when it goes to etcd.
/// The store runs in a started host, as in an app, so that any background service it has (the near cache's watch) runs.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)] // bounded: each call waits on a real etcd
public class StoreRequestBenchmark
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);
    private EtcdMember _etcd = null!;
    private IHost _host = null!;
    private ISessionStore _store = null!;
    private string _secret = null!;
    private EtcdClient _raw = null!;
    private RangeRequest _rawRange = null!;

    [GlobalSetup]
    public async Task StartAsync()
    {
        _etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = _etcd.ClientUrl;
            o.KeyPrefix = "bench/";
        });
        _host = builder.Build();
        await _host.StartAsync();
        _store = _host.Services.GetRequiredService<ISessionStore>();
        _secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var session = _store.Create(_secret, Idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
        session.SetString(BenchServer.UserKey, "user-1");
        session.SetInt32(BenchServer.CountKey, 0);
        session.SetString(BenchServer.ProfileKey, new string('p', 200));
        await session.CommitAsync();
        _raw = new EtcdClient(_etcd.ClientUrl, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        _rawRange = new RangeRequest { Key = ByteString.CopyFromUtf8("bench/raw") };
        await _raw.PutAsync(new PutRequest { Key = _rawRange.Key, Value = ByteString.CopyFromUtf8(new string('v', 300)) });
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        _raw.Dispose();
        await _host.StopAsync();
        _host.Dispose();
        await _etcd.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<long> RawRange() => (await _raw.GetAsync(_rawRange)).Count;

    [Benchmark]
    public async Task<string?> LoadAndRead()
    {
        var session = _store.Create(_secret, Idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await session.LoadAsync();
        var user = session.GetString(BenchServer.UserKey);
        _ = session.GetInt32(BenchServer.CountKey);
        await session.CommitAsync();
        return user;
    }

    [Benchmark]
    public async Task LoadModifyCommit()
    {
        var session = _store.Create(_secret, Idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await session.LoadAsync();
        session.SetInt32(BenchServer.CountKey, (session.GetInt32(BenchServer.CountKey) ?? 0) + 1);
        await session.CommitAsync();
    }
}
