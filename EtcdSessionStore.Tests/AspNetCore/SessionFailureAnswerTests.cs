using Etcd.AspNetCore.Session.Tests.Infrastructure;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// A session operation that fails before the response started is answered as the middleware's own commit failure is
/// (problem details: 409 for a conflict, 413 for a session too large, 503 for etcd), never as a bare 500; and a 409
/// leaves the client's session cookie alone, neither re-issued nor deleted. Run on Kestrel and on TestServer.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public sealed class SessionFailureAnswerTests
{
    private readonly bool _kestrel;
    private string _prefix = "";

    public SessionFailureAnswerTests(bool kestrel)
    {
        _kestrel = kestrel;
    }

    [Test]
    public async Task ExplicitCommit_OfASessionDestroyedByAnotherTab_IsAConflict_AndLeavesTheCookieAlone()
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        (await browser.PostAsync("/set?value=1")).Dispose();
        var cookie = browser.SessionCookie;

        using var response = await browser.PostAsync("/destroyed-elsewhere-then-commit");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(cookie, Is.Not.Null);
            Assert.That((int)response.StatusCode, Is.EqualTo(StatusCodes.Status409Conflict), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Not.Contain("endpoint body"));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        });
    }

    [Test]
    public async Task SecondCommit_AfterAnotherTabDestroyedTheRotatedSession_IsAConflict_ThatIssuesNoCookieForIt()
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        (await browser.PostAsync("/set?value=1")).Dispose();
        var cookie = browser.SessionCookie;

        using var response = await browser.PostAsync("/rotate-commit-destroyed-elsewhere-then-set");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(StatusCodes.Status409Conflict), body);
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "no cookie for the destroyed session");
            Assert.That(browser.SessionCookie, Is.EqualTo(cookie));
        });
    }

    [Test]
    public async Task ConflictThrownByTheEndpoint_ForAKeyThatOpensNothing_AnswersConflict_WithoutDeletingTheCookie()
    {
        await using var app = await StartAsync();
        var browser = app.NewTestBrowser();
        (await browser.PostAsync("/set?value=1")).Dispose();
        await EtcdFixture.Client.DeleteRangeAsync(_prefix); // destroyed by another tab: the cookie now opens nothing

        using var response = await browser.PostAsync("/rotation-lost-the-race");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(StatusCodes.Status409Conflict), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "a 409 neither re-issues nor deletes the cookie");
        });
    }

    [Test]
    public async Task EtcdFailure_DuringTheAutomaticSignOut_OfEndSignInWithSession_AnswersServiceUnavailable()
    {
        await using var app = await StartAsync(o => o.EndSignInWithSession = true, s => s.AddAuthentication().StoreTicketsInEtcd());
        var alice = app.NewTestBrowser();
        var other = app.NewTestBrowser();
        (await alice.PostAsync("/signin")).Dispose();
        (await other.PostAsync("/set?value=1")).Dispose(); // a stored session bound to nobody
        app.CopySignIn(alice, other); // alice's sign-in on a session that is not hers: signed out, which removes her ticket from etcd
        app.Calls.FailingMethod = "Txn";

        using var response = await other.GetAsync("/whoami");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(response.Headers.Contains("Retry-After"), Is.True);
            Assert.That(body, Does.Not.Contain("alice").And.Not.Contain("anonymous"));
        });
    }

    private Task<EndpointTestApp> StartAsync(Action<EtcdSessionOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var prefix = _prefix = EtcdFixture.UniquePrefix(nameof(SessionFailureAnswerTests));
        return EndpointTestApp.StartAsync(routes =>
        {
            routes.MapPost("/set", (HttpContext c, string value) => c.Session.SetString("k", value));
            routes.MapGet("/whoami", (HttpContext c) => c.User.Identity?.IsAuthenticated == true ? c.User.Identity.Name! : "anonymous");
            routes.MapPost("/signin", (HttpContext c) =>
                c.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice")], CookieAuthenticationDefaults.AuthenticationScheme))));
            routes.MapPost("/destroyed-elsewhere-then-commit", async (HttpContext c) =>
            {
                c.Session.SetString("k", "2");
                await EtcdFixture.Client.DeleteRangeAsync(prefix);
                await c.Session.CommitAsync();
                return "endpoint body";
            });
            routes.MapPost("/rotate-commit-destroyed-elsewhere-then-set", async (HttpContext c) =>
            {
                await c.Session.RegenerateIdAsync();
                c.Session.SetString("k", "2");
                await c.Session.CommitAsync(); // stored under the new key
                await EtcdFixture.Client.DeleteRangeAsync(prefix);
                c.Session.SetString("k", "3"); // committed before the response: the session is gone
                return "endpoint body";
            });
            routes.MapPost("/rotation-lost-the-race", Task<string> (HttpContext c) =>
                throw new EtcdSessionException(EtcdSessionErrorKind.Conflict, "Another request rotated the session first."));
        }, configure, services, _kestrel, prefix);
    }
}
