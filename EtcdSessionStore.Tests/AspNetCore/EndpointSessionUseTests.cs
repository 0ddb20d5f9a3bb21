using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>Endpoints that skip the session (<c>WithoutSession()</c>) or read it without extending it (<c>WithoutSessionRefresh()</c>).</summary>
public sealed class EndpointSessionUseTests
{
    [Test]
    public async Task WithoutSession_ARequestWithACookie_CostsNoEtcdCall_GetsNoCookie_AndTouchingTheSessionSaysWhy()
    {
        await using var app = await EndpointTestApp.StartAsync(routes =>
        {
            routes.MapPost("/set", (HttpContext c) => { c.Session.SetString("a", "1"); return "ok"; });
            routes.MapGet("/skip", (HttpContext c) => "skipped").WithoutSession();
            routes.MapGet("/touch", (HttpContext c) =>
            {
                try
                {
                    return c.Session.GetString("a") ?? "empty";
                }
                catch (InvalidOperationException ex)
                {
                    return ex.Message;
                }
            }).WithoutSession();
            routes.MapGet("/attribute", [WithoutSession] (HttpContext c) => "skipped");
        });
        using var browser = app.NewBrowser();
        (await browser.PostAsync("/set", null)).Dispose();
        app.Calls.Reset();

        using var skipped = await browser.GetAsync("/skip");
        using var attributed = await browser.GetAsync("/attribute");
        var touched = await browser.GetStringAsync("/touch");

        Assert.Multiple(() =>
        {
            Assert.That(skipped.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(app.Calls.Calls, Is.Zero, "no load, no refresh, no write");
            Assert.That(skipped.Headers.Contains("Set-Cookie") || attributed.Headers.Contains("Set-Cookie"), Is.False);
            Assert.That(touched, Does.Contain("WithoutSession()"), "it says why, instead of reading as empty");
        });
    }

    [Test]
    public async Task WithoutSessionRefresh_ReadsTheSession_ButNeverPushesTheExpiryForward_AndAWriteKeepsTheExpiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await EndpointTestApp.StartAsync(routes =>
        {
            routes.MapPost("/set", (HttpContext c) => { c.Session.SetString("a", c.Request.Query["v"]!); return "ok"; });
            routes.MapGet("/get", (HttpContext c) => c.Session.GetString("a") ?? "");
            routes.MapGet("/poll", (HttpContext c) => c.Session.GetString("a") ?? "").WithoutSessionRefresh();
            routes.MapPost("/poll-set", (HttpContext c) => { c.Session.SetString("a", c.Request.Query["v"]!); return "ok"; }).WithoutSessionRefresh();
        }, o => o.IdleTimeout = TimeSpan.FromMinutes(20), s => s.AddSingleton<TimeProvider>(time));
        using var browser = app.NewBrowser();
        (await browser.PostAsync("/set?v=1", null)).Dispose();
        var leaseAtWrite = await LeaseOfTheSessionAsync(app);

        time.Advance(TimeSpan.FromMinutes(5)); // a refresh is due (RefreshInterval is a tenth of IdleTimeout)
        var polled = await browser.GetStringAsync("/poll");
        var leaseAfterPoll = await LeaseOfTheSessionAsync(app);
        (await browser.PostAsync("/poll-set?v=2", null)).Dispose();
        var leaseAfterPollWrite = await LeaseOfTheSessionAsync(app);
        var written = await browser.GetStringAsync("/poll");
        _ = await browser.GetStringAsync("/get"); // an ordinary endpoint does refresh
        var leaseAfterGet = await LeaseOfTheSessionAsync(app);

        Assert.Multiple(() =>
        {
            Assert.That(polled, Is.EqualTo("1"));
            Assert.That(leaseAfterPoll, Is.EqualTo(leaseAtWrite), "polling does not keep the session alive");
            Assert.That(written, Is.EqualTo("2"), "a write there is stored");
            Assert.That(leaseAfterPollWrite, Is.EqualTo(leaseAtWrite), "with the expiry it had");
            Assert.That(leaseAfterGet, Is.Not.EqualTo(leaseAtWrite), "an ordinary request does push it forward");
        });
    }

    private static async Task<long> LeaseOfTheSessionAsync(EndpointTestApp app) =>
        (await EtcdFixture.Client.GetRangeAsync(app.Prefix + "s/")).Kvs.Single().Lease;
}
