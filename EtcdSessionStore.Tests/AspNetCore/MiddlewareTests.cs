using System.Net;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

public sealed class MiddlewareTests
{
    [Test]
    public async Task RequestWithoutCookie_ThatOnlyReads_CostsNoEtcdCall_AndGetsNoCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();

        using var response = await browser.GetAsync("/get?key=cart");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(server.Calls.Calls, Is.Zero);
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        });
    }

    [Test]
    public async Task FirstWrite_IssuesASecureDefaultCookie_WithNoStore_AndLaterRequestsReadTheValue()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();

        using var written = await browser.PostAsync("/set?key=cart&value=apple");
        var setCookie = string.Join(";", written.Headers.GetValues("Set-Cookie"));
        using var read = await browser.GetAsync("/get?key=cart");

        Assert.Multiple(async () =>
        {
            Assert.That(setCookie, Does.StartWith(EtcdSessionDefaults.CookieName + "=")
                .And.Contain("path=/").And.Contain("httponly").And.Contain("samesite=lax"));
            Assert.That(written.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(written.Headers.Pragma.ToString(), Is.EqualTo("no-cache"));
            Assert.That(await read.Content.ReadAsStringAsync(), Is.EqualTo("apple"));
            Assert.That(read.Headers.Contains("Set-Cookie"), Is.False, "an established session's cookie is not re-sent");
        });
    }

    [Test]
    public async Task OverHttps_TheCookieIsSecure_AndOverHttpItIsNot()
    {
        await using var server = await SessionTestServer.StartAsync();

        using var https = await server.NewBrowser("https://localhost/").PostAsync("/set?key=cart&value=apple");
        using var http = await server.NewBrowser("http://localhost/").PostAsync("/set?key=cart&value=apple");

        Assert.Multiple(() =>
        {
            Assert.That(string.Join(";", https.Headers.GetValues("Set-Cookie")), Does.Contain("secure"));
            Assert.That(string.Join(";", http.Headers.GetValues("Set-Cookie")), Does.Not.Contain("secure"));
        });
    }

    [Test]
    public async Task GarbageCookie_IsNotAdopted_CostsNoEtcdCall_AndIsDeleted()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        browser.SetSessionCookie("not-a-protected-value");

        using var response = await browser.GetAsync("/get?key=cart");

        Assert.Multiple(() =>
        {
            Assert.That(server.Calls.Calls, Is.Zero);
            Assert.That(string.Join(";", response.Headers.GetValues("Set-Cookie")), Does.Contain("expires=Thu, 01 Jan 1970"));
            Assert.That(browser.SessionCookie, Is.Null);
        });
    }

    [Test]
    public async Task CookieForASessionThatDoesNotExist_IsNeverAdopted_TheWriteGoesToAFreshKey()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        var planted = SessionKeys.NewSecret();
        var plantedCookie = server.ProtectedCookieFor(planted);
        browser.SetSessionCookie(plantedCookie);

        using var response = await browser.PostAsync("/set?key=cart&value=apple");

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(browser.SessionCookie, Is.Not.Null.And.Not.EqualTo(plantedCookie));
            Assert.That((await EtcdFixture.Client.GetAsync(server.StorageKeyOf(planted))).Count, Is.Zero, "the planted key was adopted");
            Assert.That((await EtcdFixture.Client.GetRangeAsync(server.Prefix)).Count, Is.EqualTo(1));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task FailedCommit_AnswersServiceUnavailable_WithProblemDetails_NoStackTrace_AndNoCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        server.Calls.Failing = true;

        using var response = await browser.PostAsync("/set?key=cart&value=apple");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Contain("\"status\":503").And.Contain("not saved"));
            Assert.That(body, Does.Not.Contain("Exception").And.Not.Contain(" at "));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        });
    }

    [Test]
    public async Task FailedCommit_AfterTheEndpointStartedTheResponse_IsLoggedAtError_AndBreaksTheResponse()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        server.Calls.FailingMethod = "Txn";

        var broken = false;
        try
        {
            using var response = await browser.PostAsync("/stream-then-set?key=cart&value=pear");
            await response.Content.ReadAsStringAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            broken = true;
        }

        Assert.Multiple(() =>
        {
            Assert.That(broken, Is.True, "a change that was not stored never ends in a clean success");
            Assert.That(server.Logs.Entries.Where(e => e.EventId.Id == 104).Select(e => e.Level),
                Is.EqualTo(new[] { Microsoft.Extensions.Logging.LogLevel.Error }));
        });
    }

    [Test]
    public async Task EtcdDown_WithFailRequest_AnswersServiceUnavailable_WithoutRunningTheEndpoint()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        server.Calls.Failing = true;

        using var response = await browser.GetAsync("/get?key=cart");

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Headers.Contains("X-Session-Available"), Is.False);
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("\"status\":503"));
        });
    }

    [Test]
    public async Task EtcdDown_WithContinueWithoutSession_RunsTheEndpoint_WithAnUnavailableSession_AndRecoversByItself()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.UnavailableBehavior = EtcdSessionUnavailableBehavior.ContinueWithoutSession);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var cookie = browser.SessionCookie;
        server.Calls.Failing = true;

        using var read = await browser.GetAsync("/get?key=cart");
        var readBody = await read.Content.ReadAsStringAsync();
        var write = await browser.GetStringAsync("/try-set");
        server.Calls.Failing = false;
        var recovered = await browser.GetStringAsync("/get?key=cart");

        Assert.Multiple(() =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(read.Headers.GetValues("X-Session-Available"), Is.EqualTo(new[] { "false" }));
            Assert.That(readBody, Is.Empty);
            Assert.That(write, Is.EqualTo("refused"));
            Assert.That(browser.SessionCookie, Is.EqualTo(cookie), "an unavailable session must not touch the cookie");
            Assert.That(recovered, Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task RegenerateId_ReissuesTheCookieInTheSameResponse_AndTheOldCookieOpensAFreshEmptySession()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var oldCookie = browser.SessionCookie!;

        using var rotated = await browser.PostAsync("/regenerate");
        var newCookie = browser.SessionCookie;
        var attacker = server.NewBrowser();
        attacker.SetSessionCookie(oldCookie);

        Assert.Multiple(async () =>
        {
            Assert.That(rotated.Headers.Contains("Set-Cookie"), Is.True);
            Assert.That(newCookie, Is.Not.EqualTo(oldCookie));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
            Assert.That(await attacker.GetStringAsync("/get?key=cart"), Is.Empty);
        });
    }

    [Test]
    public async Task SignIn_RotatesTheSessionKey_AndSignOut_DestroysTheSessionAndDeletesTheCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var anonymous = browser.SessionCookie!;

        (await browser.PostAsync("/signin?user=alice")).Dispose();
        var signedIn = browser.SessionCookie;
        var cartAfterSignIn = await browser.GetStringAsync("/get?key=cart");
        var old = server.NewBrowser();
        old.SetSessionCookie(anonymous);
        var cartThroughOldCookie = await old.GetStringAsync("/get?key=cart");

        using var signOut = await browser.PostAsync("/signout");

        Assert.Multiple(async () =>
        {
            Assert.That(signedIn, Is.Not.Null.And.Not.EqualTo(anonymous));
            Assert.That(cartAfterSignIn, Is.EqualTo("apple"));
            Assert.That(cartThroughOldCookie, Is.Empty);
            Assert.That(browser.SessionCookie, Is.Null);
            // Only the sign-in rotation's "moved" marker is left, and only for a minute.
            Assert.That((await EtcdFixture.Client.GetRangeAsync(server.Prefix)).Kvs.Select(kv => kv.Key.ToStringUtf8()),
                Is.All.StartsWith(server.Prefix + "moved/"));
        });
    }

    [Test]
    public async Task WithAnUnavailableSession_SignInAndSignOut_FailRatherThanSkipRotationOrDestruction()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.UnavailableBehavior = EtcdSessionUnavailableBehavior.ContinueWithoutSession);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        server.Calls.Failing = true;

        // The endpoint's EtcdSessionException is answered as a failed commit is: a 503, never a success.
        using var signIn = await browser.PostAsync("/signin?user=alice");
        using var signOut = await browser.PostAsync("/signout");

        Assert.Multiple(() =>
        {
            Assert.That(signIn.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(signIn.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(v => v.StartsWith(".AspNetCore.Cookies=", StringComparison.Ordinal)),
                Is.False, "not signed in");
            Assert.That(signOut.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        });
    }

    [Test]
    public async Task SignInAndOut_WithTheOptionsOff_LeaveTheSessionAlone()
    {
        await using var server = await SessionTestServer.StartAsync(o =>
        {
            o.RegenerateIdOnSignIn = false;
            o.DestroyOnSignOut = false;
        });
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var cookie = browser.SessionCookie;

        (await browser.PostAsync("/signin?user=alice")).Dispose();
        (await browser.PostAsync("/signout")).Dispose();

        Assert.Multiple(async () =>
        {
            Assert.That(browser.SessionCookie, Is.EqualTo(cookie));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task Destroy_DeletesTheCookie_AndTheSession()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();

        using var destroyed = await browser.PostAsync("/destroy");

        Assert.Multiple(async () =>
        {
            Assert.That(browser.SessionCookie, Is.Null);
            Assert.That(destroyed.Headers.CacheControl?.NoStore, Is.True);
            Assert.That((await EtcdFixture.Client.GetRangeAsync(server.Prefix)).Count, Is.Zero);
        });
    }
}
