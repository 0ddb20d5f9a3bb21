using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Performance;

/// <summary>
/// etcd calls per HTTP request through <c>UseEtcdSession</c> on TestServer (load, endpoint, commit, cookie),
/// counted on the wire. The clock is frozen: every write lands on one expiry second. (A request without a cookie
/// costs none: <c>MiddlewareTests.RequestWithoutCookie_ThatOnlyReads_CostsNoEtcdCall_AndGetsNoCookie</c>.)
/// </summary>
public sealed class MiddlewareRoundTripTests
{
    [Test]
    public async Task ReadOnlyRequest_MakesExactlyOneRange()
    {
        await using var server = await StartAsync();
        var browser = await SeededBrowserAsync(server);

        var value = await browser.GetStringAsync("/get?key=cart");

        Assert.Multiple(() =>
        {
            Assert.That(value, Is.EqualTo("apples"));
            Assert.That(server.Calls.ByMethod, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1 }));
        });
    }

    [Test]
    public async Task RequestThatChangesTheSession_MakesOneRangeAndOneTxn()
    {
        await using var server = await StartAsync();
        var browser = await SeededBrowserAsync(server);

        using var response = await browser.PostAsync("/set?key=cart&value=pears");

        Assert.Multiple(() =>
        {
            Assert.That(response.IsSuccessStatusCode, Is.True);
            Assert.That(server.Calls.ByMethod, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1, ["Txn"] = 1 }));
        });
    }

    private static Task<SessionTestServer> StartAsync() => SessionTestServer.StartAsync(time: new FakeTimeProvider(DateTimeOffset.UtcNow));

    /// <summary>A browser whose session holds a cart, with the call count reset afterwards.</summary>
    private static async Task<TestBrowser> SeededBrowserAsync(SessionTestServer server)
    {
        var browser = server.NewBrowser();
        using var seeded = await browser.PostAsync("/set?key=cart&value=apples");
        seeded.EnsureSuccessStatusCode();
        server.Calls.Reset();
        return browser;
    }
}
