using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>
/// Issue "no acknowledged write is lost", rule 3: a request that carries the pre-rotation key and loads or commits after
/// the rotation either has its change stored in the rotated session or fails with a non-2xx answer; its response never
/// deletes the session cookie; the old key never opens the rotated session's data; a rotation whose reply was lost keeps
/// the session and its user.
/// </summary>
public sealed class RotationRaceTests
{
    [Test]
    public async Task RequestLoadedBeforeASignIn_CommittingAfterIt_IsNotAcknowledgedUnlessStored_AndKeepsTheCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var preLogin = browser.SessionCookie!;
        var signingIn = server.NewBrowser();
        signingIn.SetSessionCookie(preLogin);
        server.DuringSet = async () =>
        {
            server.DuringSet = null;
            (await signingIn.PostAsync("/signin?user=alice")).Dispose(); // X rotates while Y runs
        };

        using var late = await browser.PostAsync("/set?key=late&value=y"); // Y, with the pre-login cookie
        var rotated = server.NewBrowser();
        rotated.SetSessionCookie(signingIn.SessionCookie!);
        var inRotated = await rotated.GetStringAsync("/get?key=late");

        Assert.Multiple(() =>
        {
            Assert.That(signingIn.SessionCookie, Is.Not.EqualTo(preLogin));
            Assert.That(late.IsSuccessStatusCode ? inRotated : "refused", Is.EqualTo(late.IsSuccessStatusCode ? "y" : "refused"),
                "acknowledged, so it must be in the rotated session");
            Assert.That(late.IsSuccessStatusCode, Is.False, "this store refuses a write to a key rotated away (409)");
            Assert.That((int)late.StatusCode, Is.EqualTo(409));
            Assert.That(SetCookies(late), Is.Empty, "the browser may already hold the rotated cookie");
        });
    }

    [Test]
    public async Task RequestCarryingThePreRotationKey_ArrivingAfterTheRotation_ReadsNothing_WritesNothing_AndLeavesTheCookieAlone()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var preLogin = browser.SessionCookie!;
        var inFlight = server.NewBrowser();
        inFlight.SetSessionCookie(preLogin); // a request the browser sent before it saw the sign-in response
        (await browser.PostAsync("/signin?user=alice")).Dispose();

        using var read = await inFlight.GetAsync("/get?key=cart");
        var readBody = await read.Content.ReadAsStringAsync();
        using var write = await inFlight.PostAsync("/set-text?key=late&value=y");

        Assert.Multiple(async () =>
        {
            Assert.That(readBody, Is.Empty, "the old key never opens the rotated session's data");
            Assert.That(SetCookies(read), Is.Empty, "no deletion: the browser may already hold the rotated cookie");
            Assert.That((int)write.StatusCode, Is.EqualTo(409));
            Assert.That(SetCookies(write), Is.Empty, "no new session cookie that would replace the rotated one");
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
            Assert.That(await browser.GetStringAsync("/get?key=late"), Is.Empty);
        });
    }

    [Test]
    public async Task SignIn_WhoseRotationReplyWasLost_KeepsTheSession_AndBindsTheUser()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        var preLogin = browser.SessionCookie;
        server.Calls.DropNextReply("Txn");

        using var signIn = await browser.PostAsync("/signin?user=alice");
        (await browser.PostAsync("/set?key=more&value=1")).Dispose(); // a later write must keep the binding
        var sessions = await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice");
        var stored = await EtcdFixture.Client.GetRangeAsync(server.Prefix + "s/");

        Assert.Multiple(async () =>
        {
            Assert.That(signIn.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(browser.SessionCookie, Is.Not.EqualTo(preLogin));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
            Assert.That(sessions, Has.Count.EqualTo(1), "the session stays bound to its user");
            Assert.That(stored.Kvs.Select(kv => kv.Value.ToStringUtf8()), Has.One.Contains("\"user\":\"alice\""),
                "the later write keeps the binding in the stored header");
        });
    }

    private static string[] SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? [.. values.Where(v => v.StartsWith(EtcdSessionDefaults.CookieName + "=", StringComparison.Ordinal))] : [];
}
