using Etcd.AspNetCore.Session.Tests.Infrastructure;
using System.Buffers;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// What an endpoint does with the response under the stock session works unchanged under <c>UseEtcdSession()</c>:
/// bytes left unflushed in <c>Response.BodyWriter</c> are sent, and <c>Response.OnStarting</c> callbacks can still
/// change the session, new or stored. Run on Kestrel and on TestServer.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public sealed class ResponseDropInTests
{
    private readonly bool _kestrel;

    public ResponseDropInTests(bool kestrel)
    {
        _kestrel = kestrel;
    }

    [TestCase("/writer", "hello")]
    [TestCase("/writer-without-session", "hello")]
    [TestCase("/writer-set", "hello")]
    [TestCase("/json-writer", "{\"a\":\"b\"}")]
    [TestCase("/json-writer-set", "{\"a\":\"b\"}")]
    public async Task BytesLeftUnflushedInTheBodyWriter_AreSent(string path, string expected)
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();

        using var response = await browser.PostAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        var stored = await browser.GetStringAsync("/get");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.EqualTo(expected));
            Assert.That(stored, Is.EqualTo(path.EndsWith("-set", StringComparison.Ordinal) ? "v" : ""));
        });
    }

    [Test]
    public async Task BytesLeftUnflushedInTheBodyWriter_OfAChangeThatFailsToCommit_AreNotSent()
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        app.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/writer-set");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(body, Does.Not.Contain("hello"));
            Assert.That(browser.SessionCookie, Is.Null);
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task OnStartingCallback_ThatChangesTheSession_IsStored_BeforeTheBodyGoesOut(bool existingSession)
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        if (existingSession)
        {
            (await browser.PostAsync("/set?value=before")).Dispose();
            Assert.That(browser.SessionCookie, Is.Not.Null);
        }

        using var response = await browser.PostAsync("/set-on-starting?value=late");
        var body = await response.Content.ReadAsStringAsync();
        var stored = await browser.GetStringAsync("/get");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(body, Is.EqualTo("body"));
            Assert.That(stored, Is.EqualTo("late"));
        });
    }

    [Test]
    public async Task OnStartingCallback_WhoseChangeFailsToCommit_GetsNoSuccess()
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        app.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/set-on-starting?value=late");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(body, Does.Not.Contain("body"));
            Assert.That(browser.SessionCookie, Is.Null);
        });
    }

    [TestCase("/order-on-starting")]
    [TestCase("/order-on-starting-sync")]
    public async Task OnStartingCallbacks_RunLastRegisteredFirst_BeforeTheResponseStarts(string path)
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();

        using var response = await browser.PostAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(body, Is.EqualTo("body"));
            Assert.That(response.Headers.TryGetValues("X-Order", out var order) ? string.Join(",", order) : null, Is.EqualTo("second,first"));
        });
    }

    private Task<EndpointTestApp> StartAsync() =>
        EndpointTestApp.StartAsync(routes =>
        {
            routes.MapGet("/get", (HttpContext c) => c.Session.GetString("k") ?? "");
            routes.MapPost("/set", (HttpContext c, string value) => c.Session.SetString("k", value));
            routes.MapPost("/writer", (HttpContext c) => WriteHello(c));
            routes.MapPost("/writer-without-session", (HttpContext c) => WriteHello(c)).WithoutSession();
            routes.MapPost("/writer-set", (HttpContext c) =>
            {
                c.Session.SetString("k", "v");
                WriteHello(c);
            });
            routes.MapPost("/json-writer", (HttpContext c) => WriteJson(c));
            routes.MapPost("/json-writer-set", (HttpContext c) =>
            {
                c.Session.SetString("k", "v");
                WriteJson(c);
            });
            routes.MapPost("/set-on-starting", async (HttpContext c, string value) =>
            {
                c.Response.OnStarting(() =>
                {
                    c.Session.SetString("k", value);
                    return Task.CompletedTask;
                });
                await c.Response.WriteAsync("body");
            });
            routes.MapPost("/order-on-starting", async (HttpContext c) =>
            {
                AppendOrderOnStarting(c);
                await c.Response.WriteAsync("body");
            });
            routes.MapPost("/order-on-starting-sync", (HttpContext c) =>
            {
                c.Features.GetRequiredFeature<IHttpBodyControlFeature>().AllowSynchronousIO = true;
                AppendOrderOnStarting(c);
                c.Response.Body.Write("body"u8);
            });
        }, kestrel: _kestrel, prefix: EtcdFixture.UniquePrefix(nameof(ResponseDropInTests)));

    private static void AppendOrderOnStarting(HttpContext context)
    {
        foreach (var name in new[] { "first", "second" })
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.Append("X-Order", name);
                return Task.CompletedTask;
            });
        }
    }

    // Written, never flushed: the server sends them when the endpoint returns.
    private static void WriteHello(HttpContext context) => context.Response.BodyWriter.Write("hello"u8);

    // The JSON writer is flushed into the pipe; the pipe itself is not flushed.
    private static void WriteJson(HttpContext context)
    {
        using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartObject();
        json.WriteString("a", "b");
        json.WriteEndObject();
        json.Flush();
    }
}
