using System.Diagnostics;
using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Etcd.AspNetCore.Session.Tests.Reliability;

/// <summary>
/// The failover scenarios again, end to end: an app under <c>app.UseEtcdSession()</c> configured with all
/// three members of a real cluster, HTTP requests with cookies, a member killed or frozen, or all of etcd down.
/// </summary>
[NonParallelizable]
public sealed class MiddlewareFailoverTests
{
    private static readonly TimeSpan IOTimeout = TimeSpan.FromSeconds(2);

    [Test]
    public async Task LeaderKilled_UnderLoad_ThroughTheMiddleware_NoAcknowledgedWriteIsLost()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var app = await ShopApp.StartAsync(cluster.Endpoints);
        var load = new SessionLoad();
        using var stop = new CancellationTokenSource();

        var running = load.RunAsync(workers: 16, app.AddItemAsync, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var leader = await cluster.LeaderAsync();
        var killedAt = load.Now;
        await leader.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await stop.CancelAsync();
        await running;

        var lost = await app.LostWritesAsync(load);
        await TestContext.Out.WriteLineAsync($"Through the middleware: leader {leader.Name} killed at {killedAt:0.0} s. {load.Report()}. Lost acknowledged writes: {lost.Count} of {load.Acknowledged.Count}.");
        Assert.Multiple(() =>
        {
            Assert.That(lost, Is.Empty, "requests answered 2xx whose item cannot be read back");
            Assert.That(load.OkPerSecond.Where(p => p.Key > killedAt + 2).Sum(p => p.Value), Is.GreaterThan(0));
            Assert.That(load.Longest, Is.LessThan(3 * IOTimeout), "a request: a load, a lease grant and a commit, each within IOTimeout");
            Assert.That(load.Errors, Is.LessThan(Math.Max(16, load.Operations / 20)));
        });
    }

    [Test]
    public async Task FollowerFrozen_ThroughTheMiddleware_NothingHangsPastTheDeadline()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var app = await ShopApp.StartAsync(cluster.Endpoints);
        var load = new SessionLoad();
        using var stop = new CancellationTokenSource();
        var leader = await cluster.LeaderAsync();
        var follower = cluster.Members.First(m => m != leader);

        var running = load.RunAsync(workers: 8, app.AddItemAsync, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var frozenAt = load.Now;
        follower.Freeze();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            await stop.CancelAsync();
            await running;
        }
        finally
        {
            follower.Thaw();
        }

        var lost = await app.LostWritesAsync(load);
        await TestContext.Out.WriteLineAsync($"Through the middleware: follower {follower.Name} frozen at {frozenAt:0.0} s. {load.Report()}. Lost: {lost.Count}.");
        Assert.Multiple(() =>
        {
            Assert.That(lost, Is.Empty);
            Assert.That(load.Longest, Is.LessThan(IOTimeout + TimeSpan.FromSeconds(1)), "only the first calls to the frozen member wait one attempt");
            Assert.That(load.OkPerSecond.Where(p => p.Key >= frozenAt + 1).Sum(p => p.Value), Is.GreaterThan(50));
            Assert.That(load.Errors, Is.LessThan(Math.Max(8, load.Operations / 20)));
        });
    }

    [TestCase(EtcdSessionUnavailableBehavior.FailRequest, TestName = "AllOfEtcdDown_WithFailRequest_Answers503WithinIOTimeout_ThenRecoversByItself")]
    [TestCase(EtcdSessionUnavailableBehavior.ContinueWithoutSession, TestName = "AllOfEtcdDown_WithContinueWithoutSession_RunsWithoutASession_ThenRecoversByItself")]
    public async Task AllOfEtcdDown(EtcdSessionUnavailableBehavior behavior)
    {
        await using var cluster = await EtcdCluster.StartAsync();
        using var app = await ShopApp.StartAsync(cluster.Endpoints, behavior);
        var cookie = await app.AddItemAsync(null, "cart", "apple", CancellationToken.None);
        foreach (var member in cluster.Members)
        {
            await member.KillAsync();
        }

        var watch = Stopwatch.StartNew();
        using var down = await app.SendAsync(HttpMethod.Get, "/get?key=cart", cookie);
        var downFor = watch.Elapsed;
        var downBody = await down.Content.ReadAsStringAsync();

        await Task.WhenAll(cluster.Members.Select(m => m.StartAsync(waitUntilReady: false)));
        await Task.WhenAll(cluster.Members.Select(m => m.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30))));
        var recovered = await RecoveredReadAsync(app, cookie);

        await TestContext.Out.WriteLineAsync($"All of etcd down, {behavior}: {(int)down.StatusCode} after {downFor.TotalMilliseconds:0} ms; after restart the cart reads '{recovered}'.");
        Assert.Multiple(() =>
        {
            Assert.That(downFor, Is.LessThan(IOTimeout + TimeSpan.FromSeconds(1)));
            if (behavior == EtcdSessionUnavailableBehavior.FailRequest)
            {
                Assert.That(down.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(downBody, Does.Not.Contain("Exception").And.Not.Contain(" at "));
            }
            else
            {
                Assert.That(down.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(down.Headers.GetValues("X-Session-Available").Single(), Is.EqualTo("false"));
                Assert.That(down.Headers.Contains("Set-Cookie"), Is.False, "the client keeps its session cookie");
            }

            Assert.That(recovered, Is.EqualTo("apple"));
        });
    }

    private static async Task<string> RecoveredReadAsync(ShopApp app, string cookie)
    {
        var (_, body) = await Eventually.ValueAsync(async () =>
        {
            using var response = await app.SendAsync(HttpMethod.Get, "/get?key=cart", cookie);
            var available = response.IsSuccessStatusCode && response.Headers.GetValues("X-Session-Available").Single() == "true";
            return (available, await response.Content.ReadAsStringAsync());
        }, read => read.available, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
        return body;
    }

    /// <summary>A minimal app on TestServer with the store wired as an app would: AddEtcdSession + UseEtcdSession.</summary>
    private sealed class ShopApp : IDisposable
    {
        private readonly IHost _host;
        private readonly HttpClient _http;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);

        private ShopApp(IHost host)
        {
            _host = host;
            _http = host.GetTestClient();
        }

        public static async Task<ShopApp> StartAsync(string endpoints, EtcdSessionUnavailableBehavior behavior = EtcdSessionUnavailableBehavior.FailRequest)
        {
            var prefix = EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
            var host = new HostBuilder()
                .ConfigureWebHost(web => web
                    .UseTestServer()
                    .ConfigureServices(services =>
                    {
                        services.AddEtcdSession(o =>
                        {
                            o.Endpoints = endpoints;
                            o.KeyPrefix = prefix;
                            o.IOTimeout = IOTimeout;
                            o.UnavailableBehavior = behavior;
                        });
                        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
                    })
                    .Configure(app =>
                    {
                        app.UseEtcdSession();
                        app.Run(HandleAsync);
                    }))
                .Build();
            await host.StartAsync();
            return new ShopApp(host);
        }

        /// <summary>POST /add with the cookie (none: a new session); returns the cookie in force, failing if the session was lost.</summary>
        public async Task<string> AddItemAsync(string? cookie, string key, string value, CancellationToken cancellationToken)
        {
            using var response = await SendAsync(HttpMethod.Post, $"/add?key={key}&value={value}", cookie);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"HTTP {(int)response.StatusCode}");
            }

            // A write renews the cookie (it carries the write's revision for the near cache's read-your-writes), so a new
            // cookie alone does not mean a new session: the session's id does. The load goes on with the first cookie,
            // which stays valid.
            var id = response.Headers.GetValues("X-Session-Id").Single();
            if (cookie is null)
            {
                var issued = IssuedCookie(response) ?? throw new InvalidOperationException("No cookie was issued for a new session.");
                _ids[issued] = id;
                return issued;
            }

            return _ids[cookie] == id ? cookie : throw new InvalidOperationException("An acknowledged session was not found: a new session was started.");
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? cookie)
        {
            using var request = new HttpRequestMessage(method, path);
            if (cookie is not null)
            {
                request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={cookie}");
            }

            return await _http.SendAsync(request);
        }

        public async Task<List<string>> LostWritesAsync(SessionLoad load)
        {
            var lost = new List<string>();
            foreach (var group in load.Acknowledged.GroupBy(a => a.Secret))
            {
                using var response = await SendAsync(HttpMethod.Get, "/all", group.Key);
                var items = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(line => line.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
                lost.AddRange(group.Where(a => !items.TryGetValue(a.Key, out var v) || v != a.Value).Select(a => a.Key));
            }

            return lost;
        }

        public void Dispose()
        {
            _http.Dispose();
            _host.StopAsync().GetAwaiter().GetResult();
            _host.Dispose();
        }

        private static string? IssuedCookie(HttpResponseMessage response) =>
            response.Headers.TryGetValues("Set-Cookie", out var values)
                ? values.Select(v => v.Split(';')[0]).Where(v => v.StartsWith(EtcdSessionDefaults.CookieName + "=", StringComparison.Ordinal))
                    .Select(v => v[(EtcdSessionDefaults.CookieName.Length + 1)..]).LastOrDefault(v => v.Length > 0)
                : null;

        private static async Task HandleAsync(HttpContext context)
        {
            var session = context.Session;
            context.Response.Headers["X-Session-Available"] = session.IsAvailable ? "true" : "false";
            switch (context.Request.Path.Value)
            {
                case "/add":
                    session.SetString(context.Request.Query["key"]!, context.Request.Query["value"]!);
                    context.Response.Headers["X-Session-Id"] = session.Id;
                    break;
                case "/get":
                    await context.Response.WriteAsync(session.IsAvailable ? session.GetString(context.Request.Query["key"]!) ?? "" : "");
                    break;
                case "/all":
                    await context.Response.WriteAsync(string.Concat(session.Keys.Select(k => $"{k}={session.GetString(k)}\n")));
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }
    }
}
