using Etcd.AspNetCore.Session.Tests.Infrastructure;
using System.Net;
using EtcdSessionStore.MvcTempData;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// MVC and Razor Pages TempData (<c>AddSessionStateTempDataProvider</c>) under <c>UseEtcdSession()</c>, unchanged from
/// the stock session: two instances on Kestrel share one etcd, a browser sets TempData on one and reads it on the
/// other. TempData is saved from <c>Response.OnStarting</c> when the result writes a body, so each case runs with a
/// body and with a redirect, for a browser without a session yet and for one with a stored session.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class TempDataTests
{
    private readonly bool _existingSession;

    public TempDataTests(bool existingSession)
    {
        _existingSession = existingSession;
    }

    [TestCase("/mvc/set", "set hello")]
    [TestCase("/mvc/set-json", "{\"set\":\"hello\"}")]
    [TestCase("/mvc/set-view", "<p>set hello</p>")]
    public async Task MvcActionWithABody_SetsTempData_ThatTheOtherInstanceShowsOnce(string action, string body)
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        using var set = await apps.PostAsync(apps.First, action + "?value=hello");
        var setBody = (await set.Content.ReadAsStringAsync()).Trim();
        var shown = await apps.GetStringAsync(apps.Second, "/mvc/read");
        var again = await apps.GetStringAsync(apps.First, "/mvc/read");

        Assert.Multiple(() =>
        {
            Assert.That(set.StatusCode, Is.EqualTo(HttpStatusCode.OK), setBody);
            Assert.That(setBody, Is.EqualTo(body));
            Assert.That(shown, Is.EqualTo("hello"));
            Assert.That(again, Is.EqualTo("(none)"));
        });
    }

    [Test]
    public async Task MvcPostRedirectGet_ShowsTheMessageOnce_OnTheOtherInstance()
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        using var post = await apps.PostAsync(apps.First, "/mvc/prg?value=saved");
        var shown = await apps.GetStringAsync(apps.Second, post.Headers.Location!.OriginalString);
        var again = await apps.GetStringAsync(apps.Second, "/mvc/read");

        Assert.Multiple(() =>
        {
            Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(post.Headers.Location!.OriginalString, Is.EqualTo("/mvc/read"));
            Assert.That(shown, Is.EqualTo("saved"));
            Assert.That(again, Is.EqualTo("(none)"));
        });
    }

    [Test]
    public async Task MvcKeep_KeepsTheMessageForOneMoreRequest()
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        (await apps.PostAsync(apps.First, "/mvc/set?value=kept")).Dispose();
        var read = await apps.GetStringAsync(apps.Second, "/mvc/keep");
        var readAgain = await apps.GetStringAsync(apps.First, "/mvc/read");
        var gone = await apps.GetStringAsync(apps.Second, "/mvc/read");

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo("kept"));
            Assert.That(readAgain, Is.EqualTo("kept"));
            Assert.That(gone, Is.EqualTo("(none)"));
        });
    }

    [Test]
    public async Task MvcPeek_LeavesTheMessage_UntilItIsRead()
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        (await apps.PostAsync(apps.First, "/mvc/set?value=peeked")).Dispose();
        var peek = await apps.GetStringAsync(apps.Second, "/mvc/peek");
        var peekAgain = await apps.GetStringAsync(apps.First, "/mvc/peek");
        var read = await apps.GetStringAsync(apps.Second, "/mvc/read");
        var gone = await apps.GetStringAsync(apps.First, "/mvc/read");

        Assert.Multiple(() =>
        {
            Assert.That(peek, Is.EqualTo("peeked"));
            Assert.That(peekAgain, Is.EqualTo("peeked"));
            Assert.That(read, Is.EqualTo("peeked"));
            Assert.That(gone, Is.EqualTo("(none)"));
        });
    }

    [TestCase("", "message=hello;note=(none)")]
    [TestCase("note", "message=(none);note=hello")]
    public async Task RazorPageAnsweringWithThePage_SetsTempData_ThatTheOtherInstanceShowsOnce(string handler, string expected)
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        using var set = await apps.PostAsync(apps.First, $"/pages/set?handler={handler}&value=hello");
        var setBody = (await set.Content.ReadAsStringAsync()).Trim();
        var shown = await apps.GetStringAsync(apps.Second, "/pages/show");
        var again = await apps.GetStringAsync(apps.First, "/pages/show");

        Assert.Multiple(() =>
        {
            Assert.That(set.StatusCode, Is.EqualTo(HttpStatusCode.OK), setBody);
            Assert.That(setBody, Is.EqualTo("<p>set</p>"));
            Assert.That(shown, Is.EqualTo(expected));
            Assert.That(again, Is.EqualTo("message=(none);note=(none)"));
        });
    }

    [Test]
    public async Task RazorPagePostRedirectGet_ShowsTheTempDataPropertyOnce_OnTheOtherInstance()
    {
        await using var apps = await TwoInstances.StartAsync(_existingSession);

        using var post = await apps.PostAsync(apps.First, "/pages/set?handler=redirect&value=saved");
        var shown = await apps.GetStringAsync(apps.Second, post.Headers.Location!.OriginalString);
        var again = await apps.GetStringAsync(apps.Second, "/pages/show");

        Assert.Multiple(() =>
        {
            Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(shown, Is.EqualTo("message=saved;note=(none)"));
            Assert.That(again, Is.EqualTo("message=(none);note=(none)"));
        });
    }

    /// <summary>Two instances of the MVC and Razor Pages app on one etcd prefix and one key ring, and a browser.</summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private readonly CookieContainer _cookies = new();
        private readonly HttpClient _http;

        private TwoInstances(WebApplication first, WebApplication second)
        {
            First = first;
            Second = second;
            _http = Browsers.Open(cookies: _cookies);
        }

        public WebApplication First { get; }

        public WebApplication Second { get; }

        /// <summary>The instances; with <paramref name="existingSession"/>, the browser already holds a stored session (with no TempData left in it).</summary>
        public static async Task<TwoInstances> StartAsync(bool existingSession)
        {
            var prefix = EtcdFixture.UniquePrefix(nameof(TempDataTests));
            var keyRing = new EphemeralDataProtectionProvider();
            var apps = new TwoInstances(await StartInstanceAsync(prefix, keyRing), await StartInstanceAsync(prefix, keyRing));
            if (existingSession)
            {
                (await apps.PostAsync(apps.First, "/mvc/prg?value=earlier")).Dispose();
                Assert.That(await apps.GetStringAsync(apps.Second, "/mvc/read"), Is.EqualTo("earlier"));
                Assert.That(apps.SessionCookie, Is.Not.Null, "the browser holds a session before the test");
            }
            else
            {
                Assert.That(apps.SessionCookie, Is.Null);
            }

            return apps;
        }

        private string? SessionCookie => _cookies.GetCookies(new Uri(First.Urls.Single()))[EtcdSessionDefaults.CookieName]?.Value;

        public Task<HttpResponseMessage> PostAsync(WebApplication app, string path) => _http.PostAsync(app.Urls.Single() + path, content: null);

        public async Task<string> GetStringAsync(WebApplication app, string path)
        {
            using var response = await _http.GetAsync(app.Urls.Single() + path);
            var body = (await response.Content.ReadAsStringAsync()).Trim();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"GET {path}: {body}");
            return body;
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await First.DisposeAsync();
            await Second.DisposeAsync();
        }

        private static async Task<WebApplication> StartInstanceAsync(string prefix, IDataProtectionProvider keyRing)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddEtcdSession(o =>
            {
                o.Endpoints = EtcdFixture.Endpoints;
                o.KeyPrefix = prefix;
            });
            builder.Services.AddSingleton(keyRing);
            builder.Services.AddTempDataApp();
            var app = builder.Build();
            app.UseRouting();
            app.UseEtcdSession();
            app.MapTempDataApp();
            await app.StartAsync();
            return app;
        }
    }
}
