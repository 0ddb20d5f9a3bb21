using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>
/// How long another instance's acknowledged write takes to reach this instance's near cache: clients write on
/// instance a and read on instance b (about 100 requests per second in all); for each write, the time from the client's
/// receipt of a's answer to b's watch loop having applied the event of that revision. Not part of the normal run:
/// <c>dotnet test EtcdSessionStore.Tests -c Release --filter "Category=Measurement" --logger "console;verbosity=detailed"</c>;
/// <c>WATCHLAG_RPS</c>, <c>WATCHLAG_CLIENTS</c> and <c>WATCHLAG_SECONDS</c> change the load (100, 8, 30 by default), and
/// <c>WATCHLAG_VALUE_BYTES</c> the size of each value written (each session holds up to 16 of them; 1 by default).
/// </summary>
[Explicit("A measurement: run it on its own (see the summary).")]
[Category("Measurement")]
public sealed class WatchLagMeasurement
{
    private static readonly int Clients = Setting("WATCHLAG_CLIENTS", 8);
    private static readonly double RequestsPerSecond = Setting("WATCHLAG_RPS", 100);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(Setting("WATCHLAG_SECONDS", 30));
    private static readonly int ValueBytes = Setting("WATCHLAG_VALUE_BYTES", 1);

    [Test]
    public async Task WatchLag_FromAWritesAcknowledgementOnOneInstance_ToItsEventAppliedOnAnother()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(WatchLagMeasurement));
        var keyRing = NearCacheApp.NewKeyRing();
        var probe = new AppliedProbe();
        await using var a = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing);
        await using var b = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing, watchInterceptor: probe);
        await Task.WhenAll(a.WaitUntilFreshAsync(TimeSpan.FromSeconds(20)), b.WaitUntilFreshAsync(TimeSpan.FromSeconds(20)));

        var acknowledged = new ConcurrentBag<(long Revision, long At)>();
        var pause = TimeSpan.FromSeconds(2 * Clients / RequestsPerSecond); // each client sends a write and a read per round
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async client =>
        {
            var cookies = new CookieContainer();
            using var browser = Browsers.Open(cookies: cookies);
            await Task.Delay(pause * client / Clients);
            for (var i = 0; clock.Elapsed < Duration; i++)
            {
                var round = Stopwatch.GetTimestamp();
                var value = i.ToString(CultureInfo.InvariantCulture).PadRight(ValueBytes, 'x');
                using (var written = await browser.PostAsync($"{a.Url}/set?k=n{i % 16}&v={value}", null))
                {
                    var at = Stopwatch.GetTimestamp();
                    written.EnsureSuccessStatusCode();
                    var token = cookies.GetCookies(new Uri(a.Url))[EtcdSessionDefaults.CookieName]!.Value;
                    acknowledged.Add((long.Parse(token[(token.LastIndexOf('.') + 1)..], CultureInfo.InvariantCulture), at));
                }

                using (var read = await browser.GetAsync($"{b.Url}/get?k=n{i % 16}"))
                {
                    read.EnsureSuccessStatusCode();
                }

                var left = pause - Stopwatch.GetElapsedTime(round);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left);
                }
            }
        }));
        await Task.Delay(TimeSpan.FromSeconds(2)); // the last events

        var lags = new List<double>();
        var missing = 0;
        foreach (var (revision, at) in acknowledged)
        {
            if (probe.Applied.TryGetValue(revision, out var applied))
            {
                lags.Add(Stopwatch.GetElapsedTime(at, applied).TotalMilliseconds);
            }
            else
            {
                missing++;
            }
        }

        lags.Sort();
        double Percentile(double p) => lags[Math.Min(lags.Count - 1, (int)Math.Ceiling(p * lags.Count) - 1)];
        var rate = acknowledged.Count * 2 / clock.Elapsed.TotalSeconds;
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Watch lag over {lags.Count} writes at {rate:0} requests/s, values of {ValueBytes} bytes, two instances, {Environment.ProcessorCount} cores: p50 {Percentile(0.5):0.0} ms, p99 {Percentile(0.99):0.0} ms, max {lags[^1]:0.0} ms; {lags.Count(l => l < 0)} events applied before the client had the answer; {missing} never seen."));
        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Zero, "every acknowledged write reaches the other instance");
            Assert.That(lags[^1], Is.LessThan(1000), "within MaxStaleness");
        });
    }

    private static int Setting(string name, int byDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : byDefault;

    /// <summary>When b's watch loop had applied each revision: the loop applies a response's events before it asks for the next.</summary>
    private sealed class AppliedProbe : Interceptor
    {
        public ConcurrentDictionary<long, long> Applied { get; } = new();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(context);
            return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, new Reader<TResponse>(call.ResponseStream, Applied),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private sealed class Reader<T>(IAsyncStreamReader<T> inner, ConcurrentDictionary<long, long> applied) : IAsyncStreamReader<T>
        {
            private bool _started;

            public T Current => inner.Current;

            public Task<bool> MoveNext(CancellationToken cancellationToken)
            {
                if (_started && inner.Current is WatchResponse response)
                {
                    var now = Stopwatch.GetTimestamp();
                    foreach (var change in response.Events)
                    {
                        applied.TryAdd(change.Kv.ModRevision, now);
                    }
                }

                _started = true;
                return inner.MoveNext(cancellationToken);
            }
        }
    }
}
