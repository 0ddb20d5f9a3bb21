using System.Diagnostics;
using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>When the cache cannot prove it is fresh, reads go to etcd: a frozen or killed etcd never leaves cached sessions being served.</summary>
public sealed class NearCacheFailureTests
{
    private static readonly TimeSpan MaxStaleness = TimeSpan.FromMilliseconds(500);

    [TestCase("frozen")]
    [TestCase("killed")]
    public async Task WithItsOnlyEtcdFrozenOrKilled_NoCachedSessionIsServedPastMaxStaleness(string failure)
    {
        await using var etcd = await EtcdMember.StartSingleAsync("nearcache-" + failure);
        var prefix = EtcdFixture.UniquePrefix(nameof(NearCacheFailureTests));
        await using var app = await NearCacheApp.StartAsync(etcd.ClientUrl, prefix, NearCacheApp.NewKeyRing(), MaxStaleness);
        await app.WaitUntilFreshAsync(TimeSpan.FromSeconds(10));
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        (await browser.PostAsync($"{app.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
        Assert.That(await browser.GetStringAsync($"{app.Url}/get?k=cart"), Is.EqualTo("apple"));
        var hitsBefore = app.Hits;

        var failedAt = Stopwatch.StartNew();
        if (failure == "frozen")
        {
            etcd.Freeze();
        }
        else
        {
            await etcd.KillAsync();
        }

        var servedLate = new List<double>();
        var refused = 0;
        try
        {
            while (failedAt.Elapsed < MaxStaleness * 4)
            {
                var sentAt = failedAt.Elapsed;
                using var response = await browser.GetAsync($"{app.Url}/get?k=cart");
                if (response.IsSuccessStatusCode && sentAt > MaxStaleness + TimeSpan.FromMilliseconds(50))
                {
                    servedLate.Add(sentAt.TotalMilliseconds);
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    refused++;
                }
            }
        }
        finally
        {
            if (failure == "frozen")
            {
                etcd.Thaw();
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(hitsBefore, Is.GreaterThan(0), "the read before the failure came from the cache");
            Assert.That(servedLate, Is.Empty, "requests sent past MaxStaleness after etcd failed were answered from the cache (ms)");
            Assert.That(refused, Is.GreaterThan(0), "with etcd gone, reads are refused (503)");
        });
    }

    [Test]
    public async Task AWatchOnAFrozenMember_MakesReadsBypassTheCache_ThenItRecoversOnAnotherMember_AndTheHealthCheckSaysDegradedMeanwhile()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var prefix = EtcdFixture.UniquePrefix(nameof(NearCacheFailureTests));
        await using var app = await NearCacheApp.StartAsync(cluster.Endpoints, prefix, NearCacheApp.NewKeyRing(), MaxStaleness);
        await app.WaitUntilFreshAsync(TimeSpan.FromSeconds(10));
        using var browser = Browsers.Open();
        (await browser.PostAsync($"{app.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
        using var http = new HttpClient();

        cluster.Members[0].Freeze(); // the member the watch's first stream goes to
        var frozenAt = Stopwatch.StartNew();
        var frozenTimestamp = Stopwatch.GetTimestamp();
        string? degraded = null;
        TimeSpan? bypassedAfter = null;
        TimeSpan? recoveredAfter = null;
        try
        {
            while (frozenAt.Elapsed < TimeSpan.FromSeconds(15) && recoveredAfter is null)
            {
                var bypassesBefore = app.Bypasses;
                var hitsBefore = app.Hits;
                (await browser.GetAsync($"{app.Url}/get?k=cart")).EnsureSuccessStatusCode();
                if (bypassedAfter is null && app.Bypasses > bypassesBefore)
                {
                    // When the lookup bypassed, not when the read (which may have tried the frozen member first) returned.
                    bypassedAfter = Stopwatch.GetElapsedTime(frozenTimestamp, app.BypassTimes.First(t => t > frozenTimestamp));
                    degraded = await http.GetStringAsync($"{app.Url}/health");
                }
                else if (bypassedAfter is not null && app.Hits > hitsBefore)
                {
                    recoveredAfter = frozenAt.Elapsed;
                }

                await Task.Delay(20);
            }
        }
        finally
        {
            cluster.Members[0].Thaw();
        }

        await TestContext.Out.WriteLineAsync($"Watch member frozen: reads bypassed after {bypassedAfter?.TotalMilliseconds:0} ms, served from the cache again after {recoveredAfter?.TotalMilliseconds:0} ms.");
        Assert.Multiple(() =>
        {
            Assert.That(bypassedAfter, Is.Not.Null.And.LessThan(MaxStaleness + TimeSpan.FromMilliseconds(400)));
            Assert.That(degraded, Is.EqualTo("Degraded"));
            Assert.That(recoveredAfter, Is.Not.Null, "the watch moves to a member that answers");
        });
    }
}
