using System.Security.Claims;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary><c>EndSignInWithSession</c>: a sign-in ends with its session, in every browser.</summary>
public sealed class EndSignInWithSessionTests
{
    [TestCase(true, "anonymous")]
    [TestCase(false, "alice")]
    public async Task AfterSignOutEverywhere_TheOtherBrowser_IsSignedOutOnlyWithTheOption(bool endSignIn, string expected)
    {
        await using var app = await EndpointTestApp.StartAsync(routes =>
        {
            routes.MapPost("/signin", async (HttpContext c) =>
            {
                await c.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice")], CookieAuthenticationDefaults.AuthenticationScheme)));
                return "ok";
            });
            routes.MapGet("/whoami", (HttpContext c) => c.User.Identity?.IsAuthenticated == true ? c.User.Identity.Name! : "anonymous");
        }, o => o.EndSignInWithSession = endSignIn);
        using var phone = app.NewBrowser();
        using var laptop = app.NewBrowser();
        (await phone.PostAsync("/signin", null)).Dispose();
        (await laptop.PostAsync("/signin", null)).Dispose();
        var before = await phone.GetStringAsync("/whoami");

        await app.Services.GetRequiredService<EtcdSessionDirectory>().RevokeAllAsync("alice");
        using var after = await phone.GetAsync("/whoami");
        var afterBody = await after.Content.ReadAsStringAsync();
        var deletesTheSignInCookie = after.Headers.TryGetValues("Set-Cookie", out var set)
            && set.Any(v => v.StartsWith(".AspNetCore.Cookies=", StringComparison.Ordinal) && v.Contains("1970", StringComparison.Ordinal));

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo("alice"));
            Assert.That(afterBody, Is.EqualTo(expected));
            Assert.That(deletesTheSignInCookie, Is.EqualTo(endSignIn));
        });
    }

    [Test]
    public void EndSignInWithSession_WithoutRegenerateIdOnSignIn_StopsTheHostAtStartUp()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["EtcdSession:EndSignInWithSession"] = "true",
                ["EtcdSession:RegenerateIdOnSignIn"] = "false",
            }))
            .ConfigureServices((context, services) => services.AddEtcdSession(context.Configuration.GetSection("EtcdSession")))
            .Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("EtcdSession:EndSignInWithSession").And.Contain("RegenerateIdOnSignIn"));
    }
}
