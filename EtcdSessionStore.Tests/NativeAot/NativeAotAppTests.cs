using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcd.AspNetCore.Session.Tests.Packaging;

namespace Etcd.AspNetCore.Session.Tests.NativeAot;

/// <summary>
/// samples/EtcdSessionStore.AotApp published with native AOT for linux-x64, once for these tests, into a folder of
/// this run alone; its native binary run as separate processes against the run's etcd and driven over HTTP on
/// 127.0.0.1. The publish takes minutes and every core it can get, so the fixture runs on its own rather than
/// slow down the timing of fixtures that run in parallel.
/// </summary>
[NonParallelizable]
public sealed class NativeAotAppTests
{
    /// <summary>
    /// Generous, against a hang only: the publish takes a few minutes on a quiet machine and can take twenty on one
    /// shared with other builds.
    /// </summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(40);

    private static readonly string AppName = "EtcdSessionStore.AotApp";

    private DirectoryInfo? _work;
    private string _binary = "";

    [OneTimeSetUp]
    public async Task PublishOnce()
    {
        _work = Directory.CreateTempSubdirectory("etcd-session-aot-");
        var publish = await DotNetCli.RunAsync(PublishTimeout, RepositoryPaths.Root,
            "publish", RepositoryPaths.Of("samples", AppName, AppName + ".csproj"), "-c", "Release", "-r", "linux-x64",
            "--artifacts-path", _work.FullName, "-p:UseSharedCompilation=false");

        Assert.That(publish.ExitCode, Is.Zero,
            $"the native AOT publish failed (it needs clang and zlib1g-dev; the build's Test target installs them):\n{publish.Output}");
        Assert.That(Regex.Matches(publish.Output, @"warning [A-Z]+\d+").Select(m => m.Value), Is.Empty,
            $"the publish is warning-free:\n{publish.Output}");

        var folder = Path.Combine(_work.FullName, "publish", AppName, "release_linux-x64");
        _binary = Path.Combine(folder, AppName);
        Assert.That(_binary, Does.Exist, publish.Output);
        Assert.That(Path.Combine(folder, AppName + ".dll"), Does.Not.Exist, "the app is one native executable, not IL for the JIT");
    }

    [OneTimeTearDown]
    public void RemovePublish() => _work?.Delete(recursive: true);

    [Test]
    public async Task Session_SurvivesAcrossRequests_AndIsStoredInEtcd()
    {
        var prefix = EtcdFixture.UniquePrefix("aot-app");
        await using var app = await NativeApp.StartAsync(_binary, prefix);
        using var browser = Browsers.Open();

        var counts = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            counts.Add(await CounterAsync(browser, app.Url));
        }

        await AddToCartAsync(browser, app.Url, "apple", 2);
        await AddToCartAsync(browser, app.Url, "pear", 1);
        var cart = await browser.GetStringAsync(app.Url + "/cart");
        var stored = await EtcdFixture.Client.GetRangeAsync(prefix);

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new[] { 1, 2, 3 }), app.Output);
            Assert.That(cart, Is.EqualTo("""{"lines":[{"sku":"apple","quantity":2},{"sku":"pear","quantity":1}]}"""));
            Assert.That(stored.Kvs.Select(kv => kv.Key.ToStringUtf8()), Has.Some.StartsWith(prefix + "s/"),
                "the session is in etcd under the app's key prefix");
        });
    }

    [Test]
    public async Task TwoInstancesOfTheNativeBinary_ShareASession()
    {
        var prefix = EtcdFixture.UniquePrefix("aot-app-shared");
        // One after the other: the first creates the shared Data Protection key in etcd, the second reads it.
        await using var first = await NativeApp.StartAsync(_binary, prefix);
        await using var second = await NativeApp.StartAsync(_binary, prefix);
        using var browser = Browsers.Open(); // cookies are per host, so one jar serves both ports

        var counts = new[]
        {
            await CounterAsync(browser, first.Url),
            await CounterAsync(browser, second.Url),
            await CounterAsync(browser, first.Url),
        };
        await AddToCartAsync(browser, second.Url, "plum", 3);
        var cartOnFirst = await browser.GetStringAsync(first.Url + "/cart");

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new[] { 1, 2, 3 }), first.Output + second.Output);
            Assert.That(cartOnFirst, Is.EqualTo("""{"lines":[{"sku":"plum","quantity":3}]}"""));
        });
    }

    [Test]
    public async Task BadCookie_GetsAFreshSession_AndLeavesTheRealOneAlone()
    {
        var prefix = EtcdFixture.UniquePrefix("aot-app-bad-cookie");
        await using var app = await NativeApp.StartAsync(_binary, prefix);
        // No cookie jar: each request carries exactly the cookie given.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

        var (firstCount, cookie) = await CounterWithCookieAsync(http, app.Url, null);
        var (secondCount, renewed) = await CounterWithCookieAsync(http, app.Url, cookie);
        cookie = renewed ?? cookie; // as a browser would: the store renews the cookie on a write
        var name = cookie!.Split('=', 2)[0];
        var middle = name.Length + 1 + ((cookie.Length - name.Length - 1) / 2); // a character that carries data, not padding
        var tampered = cookie[..middle] + (cookie[middle] == 'A' ? 'B' : 'A') + cookie[(middle + 1)..];
        var (garbageCount, garbageNewCookie) = await CounterWithCookieAsync(http, app.Url, name + "=not-a-session-cookie");
        var (tamperedCount, tamperedNewCookie) = await CounterWithCookieAsync(http, app.Url, tampered);
        var (realAgain, _) = await CounterWithCookieAsync(http, app.Url, cookie);

        Assert.Multiple(() =>
        {
            Assert.That((firstCount, secondCount), Is.EqualTo((1, 2)), app.Output);
            Assert.That(garbageCount, Is.EqualTo(1), "a cookie that is no session's gets a new, empty session");
            Assert.That(garbageNewCookie, Is.Not.Null.And.StartsWith(name + "=").And.Not.EqualTo(cookie));
            Assert.That(tamperedCount, Is.EqualTo(1), "a tampered cookie gets a new, empty session");
            Assert.That(tamperedNewCookie, Is.Not.Null.And.Not.EqualTo(cookie).And.Not.EqualTo(garbageNewCookie));
            Assert.That(realAgain, Is.EqualTo(3), "the real session was not touched by the bad cookies");
        });
    }

    private static async Task<int> CounterAsync(HttpClient browser, string url)
    {
        var counter = await browser.GetFromJsonAsync<JsonElement>(url + "/counter");
        return counter.GetProperty("count").GetInt32();
    }

    /// <summary>One <c>/counter</c> request with <paramref name="cookie"/> as sent (no jar); the count and the cookie set, if any.</summary>
    private static async Task<(int Count, string? SetCookie)> CounterWithCookieAsync(HttpClient http, string url, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url + "/counter");
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var counter = await response.Content.ReadFromJsonAsync<JsonElement>();
        var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.First().Split(';')[0] : null;
        return (counter.GetProperty("count").GetInt32(), setCookie);
    }

    private static async Task AddToCartAsync(HttpClient browser, string url, string sku, int quantity)
    {
        using var response = await browser.PostAsJsonAsync(url + "/cart", new { sku, quantity });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    /// <summary>The native binary as a child process on a port it picks itself (its log says which); killed on dispose.</summary>
    private sealed class NativeApp : IAsyncDisposable
    {
        private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
        private static readonly Regex Listening = new(@"Now listening on: (?<url>http://127\.0\.0\.1:\d+)");

        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private NativeApp(Process process) => _process = process;

        public string Url => _url.Task.Result;

        /// <summary>What the app wrote so far, for failure messages.</summary>
        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<NativeApp> StartAsync(string binary, string prefix)
        {
            var start = new ProcessStartInfo(binary)
            {
                WorkingDirectory = Path.GetDirectoryName(binary)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "--urls", "http://127.0.0.1:0",
                "--EtcdSession:Endpoints", EtcdFixture.Endpoints,
                "--EtcdSession:KeyPrefix", prefix,
                "--Logging:LogLevel:Default", "Warning",
                "--Logging:LogLevel:Microsoft.Hosting.Lifetime", "Information",
            })
            {
                start.ArgumentList.Add(argument);
            }

            var app = new NativeApp(Process.Start(start) ?? throw new InvalidOperationException($"{binary} did not start."));
            app._process.OutputDataReceived += (_, e) => app.Collect(e.Data);
            app._process.ErrorDataReceived += (_, e) => app.Collect(e.Data);
            app._process.BeginOutputReadLine();
            app._process.BeginErrorReadLine();
            app._process.EnableRaisingEvents = true;
            app._process.Exited += (_, _) => app._url.TrySetException(new InvalidOperationException("the app exited before it listened"));
            try
            {
                await app._url.Task.WaitAsync(StartTimeout);
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                await app.DisposeAsync();
                Assert.Fail($"the native app did not start listening within {StartTimeout.TotalSeconds} s ({ex.Message}):\n{app.Output}");
            }

            return app;
        }

        private void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }

            if (Listening.Match(line) is { Success: true } match)
            {
                _url.TrySetResult(match.Groups["url"].Value);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
