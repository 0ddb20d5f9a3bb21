using dotnet_etcd;

using Etcd.AspNetCore.Session.Tests.Infrastructure;

// In the root test namespace so that it runs once for every test of the assembly.
namespace Etcd.AspNetCore.Session.Tests;

/// <summary>Starts the single-member etcd that the whole run shares, once, and always stops it.</summary>
[SetUpFixture]
public sealed class EtcdFixture
{
    private static EtcdMember? _member;
    private static EtcdClient? _client;

    /// <summary>The shared member's client URL.</summary>
    public static string Endpoints => _member?.ClientUrl ?? throw new InvalidOperationException("etcd has not started.");

    /// <summary>A raw etcd client for assertions on what the store wrote.</summary>
    public static EtcdClient Client => _client ?? throw new InvalidOperationException("etcd has not started.");

    public static EtcdMember Member => _member ?? throw new InvalidOperationException("etcd has not started.");

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        _member = await EtcdMember.StartSingleAsync("shared");
        _client = EtcdTestClient.Create(_member.ClientUrl);
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        _client?.Dispose();
        if (_member is not null)
        {
            await _member.DisposeAsync();
        }
    }

    /// <summary>A key prefix no other test uses.</summary>
    public static string UniquePrefix(string test) => $"test/{test}/{Guid.NewGuid():N}/";
}
