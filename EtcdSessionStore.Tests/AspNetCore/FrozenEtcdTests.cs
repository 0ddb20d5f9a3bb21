using System.Diagnostics;
using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>A real etcd that stops answering (SIGSTOP) while the app runs, then comes back.</summary>
public sealed class FrozenEtcdTests
{
    [Test]
    public async Task WhileEtcdHangs_ARequestFailsWithin_AboutIOTimeout_AndTheAppRecoversWithoutRestart()
    {
        await using var member = await EtcdMember.StartSingleAsync("frozen");
        await using var server = await SessionTestServer.StartAsync(o => o.IOTimeout = TimeSpan.FromSeconds(1), member.ClientUrl);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();

        member.Freeze();
        HttpResponseMessage frozen;
        var watch = Stopwatch.StartNew();
        try
        {
            frozen = await browser.GetAsync("/get?key=cart");
        }
        finally
        {
            member.Thaw();
        }

        var elapsed = watch.Elapsed;
        var recovered = await browser.GetStringAsync("/get?key=cart");

        Assert.Multiple(() =>
        {
            Assert.That(frozen.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
            Assert.That(recovered, Is.EqualTo("apple"));
        });
        frozen.Dispose();
    }

    [Test]
    public async Task WhenEtcdDiesMidRequest_TheWriteIsAnsweredWith503_NotLostSilently()
    {
        var member = await EtcdMember.StartSingleAsync("killed");
        try
        {
            await using var server = await SessionTestServer.StartAsync(o => o.IOTimeout = TimeSpan.FromSeconds(1), member.ClientUrl);
            var browser = server.NewBrowser();
            (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
            var cookie = browser.SessionCookie;

            server.DuringSet = member.KillAsync; // the session loads, then etcd dies before the write
            using var response = await browser.PostAsync("/set?key=cart&value=pear");

            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
                Assert.That(browser.SessionCookie, Is.EqualTo(cookie));
            });
        }
        finally
        {
            await member.DisposeAsync();
        }
    }
}
