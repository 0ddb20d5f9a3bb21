using System.Security.Claims;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary><c>HttpContext.Session.SetIdleTimeout</c>: one session's own idle timeout ("remember me").</summary>
public sealed class PerSessionIdleTimeoutTests
{
    [Test]
    public async Task RememberMe_GivesTheSessionItsOwnIdleTimeout_ThatSurvivesTheSignInRotation_AndLaterWrites()
    {
        await using var app = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        using var browser = app.NewBrowser();
        (await browser.PostAsync("/set", null)).Dispose();

        using var signIn = await browser.PostAsync("/signin?remember=7", null);
        var afterSignIn = await DeadlineOfTheSessionAsync(app);
        var sessionCookie = signIn.Headers.GetValues("Set-Cookie").Single(v => v.StartsWith(EtcdSessionDefaults.CookieName + "=", StringComparison.Ordinal));
        (await browser.PostAsync("/set", null)).Dispose();
        var afterWrite = await DeadlineOfTheSessionAsync(app);

        Assert.Multiple(() =>
        {
            Assert.That(afterSignIn - DateTimeOffset.UtcNow, Is.InRange(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1), LeaseBucketAfter(TimeSpan.FromDays(7))));
            Assert.That(sessionCookie, Does.Contain("max-age=604800"), "a persistent cookie that lives as long as the session may");
            Assert.That(afterWrite - DateTimeOffset.UtcNow, Is.InRange(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1), LeaseBucketAfter(TimeSpan.FromDays(7))),
                "a later write keeps the session's own timeout, not the app's 20 minutes");
        });
    }

    [Test]
    public async Task AShorterIdleTimeout_Applies_AndTheAbsoluteTimeoutStillCaps_ALongerOne()
    {
        await using var shorter = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        using var a = shorter.NewBrowser();
        (await a.PostAsync("/set?idle=60", null)).Dispose();
        await using var capped = await StartAsync(o => { o.IdleTimeout = TimeSpan.FromMinutes(20); o.AbsoluteTimeout = TimeSpan.FromHours(1); });
        using var b = capped.NewBrowser();
        (await b.PostAsync("/set?idle=604800", null)).Dispose();

        Assert.Multiple(async () =>
        {
            Assert.That(await DeadlineOfTheSessionAsync(shorter) - DateTimeOffset.UtcNow, Is.EqualTo(TimeSpan.FromMinutes(1)).Within(TimeSpan.FromSeconds(10)));
            Assert.That(await DeadlineOfTheSessionAsync(capped) - DateTimeOffset.UtcNow, Is.EqualTo(TimeSpan.FromHours(1)).Within(TimeSpan.FromMinutes(1)));
        });
    }

    [Test]
    public async Task ARequestThatLoadedBefore_DoesNotPutTheAppsTimeoutBack()
    {
        using var store = TestStore.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        var seed = await store.SeedAsync(("a", "1"));
        var remembering = await store.OpenAsync(seed.SessionKey);
        var other = await store.OpenAsync(seed.SessionKey);

        remembering.SetIdleTimeout(TimeSpan.FromDays(1));
        await remembering.CommitAsync();
        other.SetString("b", "2");
        await other.CommitAsync();

        var kv = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(seed.SessionKey))).Kvs.Single();
        Assert.That(ExpiryLease.ExpiryOf(kv.Lease) - DateTimeOffset.UtcNow, Is.InRange(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(1), LeaseBucketAfter(TimeSpan.FromDays(1))));
    }

    [TestCase(1)]
    [TestCase(366 * 24 * 3600)]
    public void AnIdleTimeoutOutsideWhatIdleTimeoutAllows_Throws(int seconds)
    {
        using var store = TestStore.Create();
        var session = store.NewSession();

        Assert.That(() => session.SetIdleTimeout(TimeSpan.FromSeconds(seconds)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static Task<EndpointTestApp> StartAsync(Action<EtcdSessionOptions> configure) => EndpointTestApp.StartAsync(routes =>
    {
        routes.MapPost("/set", (HttpContext c) =>
        {
            if (c.Request.Query["idle"] is { Count: 1 } idle)
            {
                c.Session.SetIdleTimeout(TimeSpan.FromSeconds(int.Parse(idle!, System.Globalization.CultureInfo.InvariantCulture)));
            }

            c.Session.SetString("n", Guid.NewGuid().ToString());
            return "ok";
        });
        routes.MapPost("/signin", async (HttpContext c) =>
        {
            if (c.Request.Query["remember"] is { Count: 1 } days)
            {
                c.Session.SetIdleTimeout(TimeSpan.FromDays(int.Parse(days!, System.Globalization.CultureInfo.InvariantCulture)));
            }

            await c.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice")], CookieAuthenticationDefaults.AuthenticationScheme)));
            return "signed in";
        });
    }, configure);

    private static async Task<DateTimeOffset> DeadlineOfTheSessionAsync(EndpointTestApp app) =>
        ExpiryLease.ExpiryOf((await EtcdFixture.Client.GetRangeAsync(app.Prefix + "s/")).Kvs.Single().Lease)!.Value;

    /// <summary>The latest a lease for a deadline <paramref name="lifetime"/> away ends: one bucket after it (a minute of slack).</summary>
    private static TimeSpan LeaseBucketAfter(TimeSpan lifetime) =>
        lifetime + TimeSpan.FromSeconds(ExpiryLease.BucketWidth((long)lifetime.TotalSeconds)) + TimeSpan.FromMinutes(1);
}
