using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>
/// A copy is only as fresh as the watch that covers it: a session read or written before the watch began (at start-up,
/// after a compaction) must not be served once heartbeats make the cache fresh, and a silent watch is reopened even
/// before its first heartbeat.
/// </summary>
public sealed class NearCacheCoverageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Test]
    public async Task ASessionReadWhileTheWatchWasOpening_AndDestroyedBeforeItOpened_NeverOpensFromTheCache()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(NearCacheCoverageTests));
        var keyRing = NearCacheApp.NewKeyRing();
        await using var a = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing);
        await a.WaitUntilFreshAsync(Patience);
        var cookies = new CookieContainer();
        using var victim = Browsers.Open(cookies: cookies);
        (await victim.PostAsync($"{a.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
        var stolen = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;

        var gate = new WatchGate();
        gate.Hold(); // b's watch takes a while to open
        await using var b = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing, watchInterceptor: gate);
        Assert.That(await victim.GetStringAsync($"{b.Url}/get?k=cart"), Is.EqualTo("apple"), "read on b from etcd while its watch is opening");
        (await victim.PostAsync($"{a.Url}/destroy", null)).EnsureSuccessStatusCode();
        gate.Release(); // the watch opens after the destroy

        await b.WaitUntilFreshAsync(Patience);
        var opened = await OpenedWithAsync(b, stolen, TimeSpan.FromSeconds(3));

        Assert.That(opened, Is.Empty, "the destroyed session opened on b from its cache (ms after b became fresh)");
    }

    [Test]
    public async Task ASessionReadAfterACompaction_AndDestroyedBeforeTheWatchResumed_NeverOpensFromTheCache()
    {
        // Compaction would disturb tests that read old revisions of the shared etcd: use a member of our own.
        await using var member = await EtcdMember.StartSingleAsync("nearcache-coverage-compaction");
        using var raw = EtcdTestClient.Create(member.ClientUrl);
        var prefix = EtcdFixture.UniquePrefix(nameof(NearCacheCoverageTests));
        var keyRing = NearCacheApp.NewKeyRing();
        var gate = new WatchGate { HoldAfterCompaction = true };
        await using var a = await NearCacheApp.StartAsync(member.ClientUrl, prefix, keyRing);
        await using var b = await NearCacheApp.StartAsync(member.ClientUrl, prefix, keyRing, watchInterceptor: gate);
        await Task.WhenAll(a.WaitUntilFreshAsync(Patience), b.WaitUntilFreshAsync(Patience));
        var cookies = new CookieContainer();
        using var victim = Browsers.Open(cookies: cookies);
        (await victim.PostAsync($"{a.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
        var stolen = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;
        Assert.That(await victim.GetStringAsync($"{b.Url}/get?k=cart"), Is.EqualTo("apple"));

        gate.Hold();
        gate.BreakCurrent(); // b's watch breaks and cannot reopen yet
        await raw.PutAsync(prefix + "filler", "1");
        await raw.PutAsync(prefix + "filler", "2");
        var current = (await raw.GetAsync("any")).Header.Revision;
        await raw.CompactAsync(new CompactionRequest { Revision = current, Physical = true });
        gate.Release(); // b resumes where it stopped, which is compacted: etcd cancels the watch, and the gate holds the next one
        await gate.Compacted.WaitAsync(Patience);

        Assert.That(await victim.GetStringAsync($"{b.Url}/get?k=cart"), Is.EqualTo("apple"), "read on b from etcd while its watch reopens");
        (await victim.PostAsync($"{a.Url}/destroy", null)).EnsureSuccessStatusCode();
        gate.Release();

        await b.WaitUntilFreshAsync(Patience);
        var opened = await OpenedWithAsync(b, stolen, TimeSpan.FromSeconds(3));

        Assert.That(opened, Is.Empty, "the destroyed session opened on b from its cache (ms after b became fresh)");
    }

    [Test]
    public async Task AWatchThatGoesSilentBeforeItsFirstHeartbeat_IsReopened_AndTheCacheBecomesFresh()
    {
        var gate = new WatchGate { SilenceFirstStream = true };
        var prefix = EtcdFixture.UniquePrefix(nameof(NearCacheCoverageTests));
        await using var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, NearCacheApp.NewKeyRing(), TimeSpan.FromMilliseconds(500), gate);

        var fresh = false;
        try
        {
            await app.WaitUntilFreshAsync(Patience);
            fresh = true;
        }
        catch (OperationCanceledException)
        {
        }

        Assert.Multiple(() =>
        {
            Assert.That(fresh, Is.True, $"the cache never became fresh within {Patience.TotalSeconds} s: its silent first watch was never reopened");
            Assert.That(gate.Streams, Is.GreaterThanOrEqualTo(2));
        });
    }

    /// <summary>Reads with <paramref name="cookie"/> on <paramref name="app"/> for <paramref name="during"/>; returns when (ms) a read opened the session.</summary>
    private static async Task<List<long>> OpenedWithAsync(NearCacheApp app, string cookie, TimeSpan during)
    {
        using var thief = Browsers.Open();
        var opened = new List<long>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < during)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{app.Url}/get?k=cart");
            request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={cookie}");
            using var response = await thief.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                opened.Add(clock.ElapsedMilliseconds);
            }

            await Task.Delay(50);
        }

        return opened;
    }
}
