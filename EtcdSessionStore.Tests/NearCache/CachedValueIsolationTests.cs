using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>
/// The near cache's copy of a session serves other requests: a value a request reads is never the cache's own array,
/// whether the request loaded the copy from the cache or handed it to the cache with its commit, and also after it
/// changed another key.
/// </summary>
public sealed class CachedValueIsolationTests
{
    [Test]
    public async Task AValueReadAfterASet_FromASessionLoadedFromTheCache_IsTheCallersOwn()
    {
        await using var app = await StartAsync();
        var store = app.Services.GetRequiredService<SessionStore>();
        var seed = await WriteOriginalAsync(store);

        var reader = await OpenFromCacheAsync(app, store, seed);
        reader.SetString("other", "1");
        Assert.That(reader.TryGetValue("k", out var value), Is.True);
        value![0] = (byte)'X';

        var next = await OpenFromCacheAsync(app, store, seed);
        Assert.That(next.GetString("k"), Is.EqualTo("original"));
    }

    [Test]
    public async Task AValueReadAfterACommit_AndASet_IsTheCallersOwn_NotWhatTheCommitHandedToTheCache()
    {
        await using var app = await StartAsync();
        var store = app.Services.GetRequiredService<SessionStore>();
        var writer = await WriteOriginalAsync(store);

        writer.SetString("other", "1"); // not committed: only the request's own view changes
        Assert.That(writer.TryGetValue("k", out var value), Is.True);
        value![0] = (byte)'X';

        var next = await OpenFromCacheAsync(app, store, writer);
        Assert.That(next.GetString("k"), Is.EqualTo("original"));
    }

    [Test]
    public async Task AValueSetByTheRequest_AndChangedByItsCallerAfterTheCommit_DoesNotChangeTheCachedCopy()
    {
        await using var app = await StartAsync();
        var store = app.Services.GetRequiredService<SessionStore>();
        var writer = store.CreateStrict(null);
        writer.SetString("k", "original");
        Assert.That(writer.TryGetValue("k", out var beforeCommit), Is.True);
        await writer.CommitAsync();
        Assert.That(writer.TryGetValue("k", out var afterCommit), Is.True);

        beforeCommit![0] = (byte)'X';
        afterCommit![0] = (byte)'Y';

        var next = await OpenFromCacheAsync(app, store, writer);
        Assert.That(next.GetString("k"), Is.EqualTo("original"));
    }

    private static async Task<NearCacheApp> StartAsync()
    {
        var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test"),
            NearCacheApp.NewKeyRing(), maxStaleness: TimeSpan.FromSeconds(30));
        await app.WaitUntilFreshAsync(TimeSpan.FromSeconds(30));
        return app;
    }

    /// <summary>A new session with k = "original", committed (and so handed to the near cache).</summary>
    private static async Task<EtcdSession> WriteOriginalAsync(SessionStore store)
    {
        var session = store.CreateStrict(null);
        session.SetString("k", "original");
        await session.CommitAsync();
        return session;
    }

    /// <summary>Loads the session the way a request with <paramref name="written"/>'s token does, until the load is a cache hit.</summary>
    private static async Task<EtcdSession> OpenFromCacheAsync(NearCacheApp app, SessionStore store, EtcdSession written)
    {
        var (session, hit) = await Eventually.ValueAsync(async () =>
        {
            var hits = app.Hits;
            var opened = store.CreateStrict(written.SessionKey, written.Revision!.Value);
            await opened.LoadAsync();
            return (opened, app.Hits > hits);
        }, load => load.Item2, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        Assert.That(hit, Is.True, "no load was a near-cache hit");
        return session;
    }
}
