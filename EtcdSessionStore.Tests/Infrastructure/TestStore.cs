using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>A store wired through AddEtcdSession against the shared etcd, under a key prefix of its own.</summary>
public sealed class TestStore : IDisposable
{
    private readonly ServiceProvider _services;

    private TestStore(ServiceProvider services, string prefix)
    {
        _services = services;
        Prefix = prefix;
        Store = services.GetRequiredService<SessionStore>();
    }

    public string Prefix { get; }

    internal SessionStore Store { get; }

    public IServiceProvider Services => _services;

    public static TestStore Create(Action<EtcdSessionOptions>? configure = null, Action<IServiceCollection>? services = null, string? endpoints = null)
    {
        var prefix = EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        var collection = new ServiceCollection();
        collection.AddEtcdSession(o =>
        {
            o.Endpoints = endpoints ?? EtcdFixture.Endpoints;
            o.KeyPrefix = prefix;
            o.NearCache.Enabled = false; // no host runs its watch here; the near cache has tests of its own (NearCache/)
            configure?.Invoke(o);
        });
        services?.Invoke(collection);
        return new TestStore(collection.BuildServiceProvider(), prefix);
    }

    /// <summary>A session for a brand-new key (strict mode, as the middleware makes them).</summary>
    internal EtcdSession NewSession() => Store.CreateStrict(null);

    /// <summary>A new session holding <paramref name="items"/>, committed to etcd.</summary>
    internal async Task<EtcdSession> SeedAsync(params (string Key, string Value)[] items)
    {
        var session = NewSession();
        foreach (var (key, value) in items)
        {
            session.SetString(key, value);
        }

        await session.CommitAsync();
        return session;
    }

    /// <summary>A session for a key a client presented (strict mode), loaded.</summary>
    internal async Task<EtcdSession> OpenAsync(string secret)
    {
        var session = Store.CreateStrict(secret);
        await session.LoadAsync();
        return session;
    }

    /// <summary>The etcd key that holds the session whose secret is given.</summary>
    public string StorageKeyOf(string secret) => Etcd.AspNetCore.Session.Storage.SessionKeys.StorageKey(Prefix, secret);

    public void Dispose() => _services.Dispose();
}
