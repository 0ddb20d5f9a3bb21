using System.Diagnostics;
using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>Two app instances with the near cache on one etcd, on real Kestrel: what a client sees across them.</summary>
public sealed class TwoInstanceNearCacheTests
{
    [Test]
    public async Task AWriteOnOneInstance_IsReadOnTheOther_AtOnce_EveryTime()
    {
        var (a, b) = await StartPairAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);

        var stale = new List<string>();
        for (var i = 0; i < 150; i++)
        {
            var (writer, reader) = i % 2 == 0 ? (a, b) : (b, a);
            (await browser.PostAsync($"{writer.Url}/set?k=n&v={i}", null)).EnsureSuccessStatusCode();
            var read = await browser.GetStringAsync($"{reader.Url}/get?k=n");
            if (read != i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                stale.Add($"wrote {i}, read {read}");
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(stale, Is.Empty, "each read follows the write, with no pause, on the other instance");
            Assert.That(a.Hits + b.Hits, Is.GreaterThan(0), "some reads came from the cache");
        });
    }

    [Test]
    public async Task WithTheOtherInstancesWatchDelayed_AClientStillReadsItsOwnWrite_FromEtcd()
    {
        var delay = new DelayingWatchInterceptor();
        var (a, b) = await StartPairAsync(delay);
        await using var disposeA = a;
        await using var disposeB = b;
        using var browser = Browsers.Open();
        (await browser.PostAsync($"{a.Url}/set?k=n&v=0", null)).EnsureSuccessStatusCode();
        Assert.That(await browser.GetStringAsync($"{b.Url}/get?k=n"), Is.EqualTo("0")); // b caches the session

        delay.Delay = TimeSpan.FromMilliseconds(400); // b's watch now lags, within b's MaxStaleness of 2 s
        var stale = new List<string>();
        for (var i = 1; i <= 10; i++)
        {
            (await browser.PostAsync($"{a.Url}/set?k=n&v={i}", null)).EnsureSuccessStatusCode();
            var read = await browser.GetStringAsync($"{b.Url}/get?k=n");
            if (read != i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                stale.Add($"wrote {i}, read {read}");
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(stale, Is.Empty, "the cookie carries the write's revision: b's older copy is not used");
            Assert.That(b.Misses, Is.GreaterThanOrEqualTo(10), "b read etcd instead of its lagging copy");
        });
    }

    [Test]
    public async Task TheRevisionInTheToken_IsNotProtected_AClientThatChangesItOnlyChangesHowFreshACopyItGets()
    {
        var (a, b) = await StartPairAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        (await browser.PostAsync($"{a.Url}/set?k=n&v=1", null)).EnsureSuccessStatusCode();
        var token = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;
        var protectedKey = token[..token.LastIndexOf('.')];
        using var client = Browsers.Open();

        async Task<HttpStatusCode> ReadWithAsync(string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{b.Url}/get?k=n");
            request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={value}");
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        var missesBefore = b.Misses;
        var farAhead = await ReadWithAsync(protectedKey + ".999999999999");
        var missesAfter = b.Misses;
        var noRevision = await ReadWithAsync(protectedKey);
        var garbled = await ReadWithAsync(protectedKey + ".x1");

        Assert.Multiple(() =>
        {
            Assert.That(farAhead, Is.EqualTo(HttpStatusCode.OK), "a revision ahead of every copy: read from etcd");
            Assert.That(missesAfter, Is.GreaterThan(missesBefore));
            Assert.That(noRevision, Is.EqualTo(HttpStatusCode.OK), "a token without a revision (issued without the near cache) still opens the session");
            Assert.That(garbled, Is.EqualTo(HttpStatusCode.NotFound), "not a revision: the whole token is unprotected, fails, and opens nothing");
        });
    }

    [Test]
    public async Task ACachedSessionWhoseStoredValueIsCorrupted_IsNotServed_AndTheValueStaysInEtcd()
    {
        var (a, b) = await StartPairAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        using var browser = Browsers.Open();
        (await browser.PostAsync($"{a.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
        Assert.That(await browser.GetStringAsync($"{b.Url}/get?k=cart"), Is.EqualTo("apple")); // cached on b
        var storageKey = (await EtcdFixture.Client.GetRangeAsync(string.Empty)).Kvs
            .Select(kv => kv.Key.ToStringUtf8()).First(k => k.Contains("/s/", StringComparison.Ordinal) && k.StartsWith("test/" + nameof(TwoInstanceNearCacheTests), StringComparison.Ordinal));
        await EtcdFixture.Client.PutAsync(storageKey, "not a session envelope"); // the watch brings it to b's cache

        var status = await Eventually.ValueAsync(async () =>
        {
            using var response = await browser.GetAsync($"{b.Url}/get?k=cart");
            return response.StatusCode;
        }, s => s != HttpStatusCode.OK, TimeSpan.FromSeconds(2), TimeSpan.Zero);

        var stillStored = await EtcdFixture.Client.GetValAsync(storageKey);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound), "a fresh, empty session instead of the unreadable one; never a 500");
            Assert.That(stillStored, Is.EqualTo("not a session envelope"), "left in etcd for inspection");
        });
    }

    [Test]
    public async Task ASessionDestroyedOnOneInstance_IsGoneOnTheOther_WithinMaxStaleness()
    {
        var (a, b) = await StartPairAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        var lags = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var cookies = new CookieContainer();
            using var victim = Browsers.Open(cookies: cookies);
            (await victim.PostAsync($"{a.Url}/set?k=cart&v=apple", null)).EnsureSuccessStatusCode();
            Assert.That(await victim.GetStringAsync($"{b.Url}/get?k=cart"), Is.EqualTo("apple"));
            var stolen = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;

            (await victim.PostAsync($"{a.Url}/destroy", null)).EnsureSuccessStatusCode();
            var destroyed = Stopwatch.StartNew();
            using var thief = Browsers.Open();
            var status = await Eventually.ValueAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{b.Url}/get?k=cart");
                request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={stolen}");
                using var response = await thief.SendAsync(request);
                return response.StatusCode;
            }, s => s == HttpStatusCode.NotFound, TimeSpan.FromSeconds(1), TimeSpan.Zero);
            Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound), "past MaxStaleness the destroyed session must not open");

            lags.Add(destroyed.Elapsed.TotalMilliseconds);
        }

        await TestContext.Out.WriteLineAsync($"Destroy on a, seen on b after (ms): {string.Join(", ", lags.Select(l => l.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    [Test]
    public async Task ConcurrentWritersOnBothInstances_LoseNothing()
    {
        var (a, b) = await StartPairAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        (await browser.PostAsync($"{a.Url}/set?k=start&v=1", null)).EnsureSuccessStatusCode();
        var cookie = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;

        // 16 writers, half on each instance, each writing its own keys into the one session, each with the first cookie.
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async writer =>
        {
            using var client = Browsers.Open();
            var app = writer % 2 == 0 ? a : b;
            for (var i = 0; i < 12; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"{app.Url}/set?k=w{writer}-{i}&v=x");
                request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={cookie}");
                using var response = await client.SendAsync(request);
                if (response.IsSuccessStatusCode)
                {
                    acknowledged.Add($"w{writer}-{i}");
                }
            }
        }));

        var missing = new List<string>();
        foreach (var key in acknowledged)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{b.Url}/get?k={key}");
            request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={cookie}");
            using var response = await browser.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                missing.Add(key);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(acknowledged, Has.Count.GreaterThan(16 * 12 * 9 / 10), "nearly every write is acknowledged");
            Assert.That(missing, Is.Empty, "every acknowledged write is stored (read back through the other instance's cache or etcd)");
        });
    }

    /// <summary>Two instances sharing sessions and a key ring, both proven fresh; <paramref name="delayOnB"/> may slow b's watch (b's MaxStaleness is then 2 s).</summary>
    private static async Task<(NearCacheApp A, NearCacheApp B)> StartPairAsync(DelayingWatchInterceptor? delayOnB = null)
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(TwoInstanceNearCacheTests));
        var keyRing = NearCacheApp.NewKeyRing();
        var a = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing);
        var b = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing, delayOnB is null ? null : TimeSpan.FromSeconds(2), delayOnB);
        await Task.WhenAll(a.WaitUntilFreshAsync(TimeSpan.FromSeconds(10)), b.WaitUntilFreshAsync(TimeSpan.FromSeconds(10)));
        return (a, b);
    }

    /// <summary>Holds back every watch response by <see cref="Delay"/>: a lagging watch.</summary>
    internal sealed class DelayingWatchInterceptor : Interceptor
    {
        public TimeSpan Delay { get; set; }

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(context);
            return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, new Delayed<TResponse>(call.ResponseStream, this),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private sealed class Delayed<T>(IAsyncStreamReader<T> inner, DelayingWatchInterceptor owner) : IAsyncStreamReader<T>
        {
            public T Current => inner.Current;

            public async Task<bool> MoveNext(CancellationToken cancellationToken)
            {
                var more = await inner.MoveNext(cancellationToken);
                if (owner.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(owner.Delay, cancellationToken);
                }

                return more;
            }
        }
    }
}
