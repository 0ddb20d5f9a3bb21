using Etcd.AspNetCore.Session.DependencyInjection;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Users;

/// <summary><see cref="EtcdSessionOptions.MaxSessionsPerUser"/> through sign-in on the real pipeline.</summary>
public sealed class MaxSessionsPerUserTests
{
    [Test]
    public async Task WithACapOfTwo_AThirdSignIn_EndsTheOldestSession_AndKeepsTheOtherTwo()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.MaxSessionsPerUser = 2);
        var browsers = await SignInAsync(server, "alice", 3);

        var sessions = await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice");
        Assert.Multiple(async () =>
        {
            Assert.That(sessions, Has.Count.EqualTo(2));
            Assert.That(await browsers[0].GetStringAsync("/get?key=browser"), Is.Empty, "the oldest session was ended");
            Assert.That(await browsers[1].GetStringAsync("/get?key=browser"), Is.EqualTo("1"));
            Assert.That(await browsers[2].GetStringAsync("/get?key=browser"), Is.EqualTo("2"), "the session just signed in is kept");
        });
    }

    [Test]
    public async Task WithACap_AnotherUsersSessions_AreNeverEnded()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.MaxSessionsPerUser = 1);
        var bobs = await SignInAsync(server, "bob", 1);
        await SignInAsync(server, "alice", 3);

        var directory = server.Services.GetRequiredService<EtcdSessionDirectory>();
        Assert.Multiple(async () =>
        {
            Assert.That(await directory.ListAsync("alice"), Has.Count.EqualTo(1));
            Assert.That(await directory.ListAsync("bob"), Has.Count.EqualTo(1));
            Assert.That(await bobs[0].GetStringAsync("/get?key=browser"), Is.EqualTo("0"));
        });
    }

    [Test]
    public async Task SigningInAgainOnTheSameBrowser_DoesNotCountTwice()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.MaxSessionsPerUser = 2);
        var browsers = await SignInAsync(server, "alice", 2);

        await browsers[1].PostAsync("/signin?user=alice");

        Assert.Multiple(async () =>
        {
            Assert.That(await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice"), Has.Count.EqualTo(2));
            Assert.That(await browsers[0].GetStringAsync("/get?key=browser"), Is.EqualTo("0"));
        });
    }

    [Test]
    public async Task ByDefault_ThereIsNoCap()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browsers = await SignInAsync(server, "alice", 3);

        Assert.Multiple(async () =>
        {
            Assert.That(server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EtcdSessionOptions>>().Value.MaxSessionsPerUser, Is.Null);
            Assert.That(await server.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice"), Has.Count.EqualTo(3));
            Assert.That(await browsers[0].GetStringAsync("/get?key=browser"), Is.EqualTo("0"));
        });
    }

    [TestCase(0)]
    [TestCase(-3)]
    public void ACapBelowOne_IsRefusedAtStartUp_NamingTheSetting(int cap)
    {
        var result = new EtcdSessionOptionsValidator().Validate(null, new EtcdSessionOptions { MaxSessionsPerUser = cap });

        Assert.That(result.FailureMessage, Does.Contain($"EtcdSession:MaxSessionsPerUser '{cap}' is invalid").And.Contain("at least 1"));
    }

    [TestCase(1)]
    [TestCase(null)]
    public void ACapOfOneOrMore_OrNone_IsAccepted(int? cap) =>
        Assert.That(new EtcdSessionOptionsValidator().Validate(null, new EtcdSessionOptions { MaxSessionsPerUser = cap }).Succeeded, Is.True);

    /// <summary>Browsers that each store "browser" = their index, then sign <paramref name="user"/> in, one after the other.</summary>
    private static async Task<List<TestBrowser>> SignInAsync(SessionTestServer server, string user, int count)
    {
        var browsers = new List<TestBrowser>();
        for (var i = 0; i < count; i++)
        {
            var browser = server.NewBrowser();
            await browser.PostAsync($"/set?key=browser&value={i}");
            (await browser.PostAsync($"/signin?user={user}")).EnsureSuccessStatusCode();
            browsers.Add(browser);
        }

        return browsers;
    }
}
