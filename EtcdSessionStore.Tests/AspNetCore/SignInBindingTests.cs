using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>Sign-in through ASP.NET Core authentication binds the session to the user (sessions by user).</summary>
public sealed class SignInBindingTests
{
    [Test]
    public async Task SigningIn_BindsTheSessionToTheUser_SoItIsListed()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        await browser.PostAsync("/set?key=cart&value=apples");

        await browser.PostAsync("/signin?user=alice");

        var sessions = await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice");
        Assert.That(sessions, Has.Count.EqualTo(1));
        Assert.That(await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("bob"), Is.Empty);
    }

    [Test]
    public async Task SigningInWithoutASession_StoresABoundSession_AndIssuesItsCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();

        await browser.PostAsync("/signin?user=alice");

        var listed = await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice");
        Assert.That(browser.SessionCookie, Is.Not.Null);
        Assert.That(listed, Has.Count.EqualTo(1));
    }
}
