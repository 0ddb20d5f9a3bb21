using System.Net;
using System.Net.Http.Json;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>Two instances of the demo shop on real Kestrel (loopback, free ports) sharing one etcd and one etcd-backed key ring.</summary>
public sealed class TwoInstancesTests
{
    [Test]
    public async Task ACartWrittenThroughOneInstance_IsReadThroughTheOther_AndLoginRotatesTheKey()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(TwoInstancesTests));
        await using var first = await DemoShop.StartAsync(prefix);
        await using var second = await DemoShop.StartAsync(prefix); // after the first: it reads the key the first one created
        var browser = new CookieContainer();
        using var client = Client(browser);

        (await client.PostAsync(first.Url + "/cart", Form("item", "apple"))).EnsureSuccessStatusCode();
        var cartOnSecond = await client.GetFromJsonAsync<string[]>(second.Url + "/cart");
        var anonymousCookie = SessionCookie(browser, first.Url);
        (await client.PostAsync(second.Url + "/login", Form("user", "alice"))).EnsureSuccessStatusCode();
        var signedInCookie = SessionCookie(browser, first.Url);
        var cartAfterLogin = await client.GetFromJsonAsync<string[]>(first.Url + "/cart");
        var attacker = new CookieContainer();
        attacker.Add(new Uri(first.Url), new Cookie(".Shop.Session", anonymousCookie));
        using var attackerClient = Client(attacker);
        var cartThroughOldCookie = await attackerClient.GetFromJsonAsync<string[]>(first.Url + "/cart");
        var keyRing = await EtcdFixture.Client.GetRangeAsync(prefix + "dataprotection/");

        Assert.Multiple(() =>
        {
            Assert.That(cartOnSecond, Is.EqualTo(new[] { "apple" }));
            Assert.That(signedInCookie, Is.Not.Null.And.Not.EqualTo(anonymousCookie));
            Assert.That(cartAfterLogin, Is.EqualTo(new[] { "apple" }));
            Assert.That(cartThroughOldCookie, Is.Empty);
            Assert.That(keyRing.Count, Is.EqualTo(1), "both instances use the one key the first created");
        });
    }

    private static HttpClient Client(CookieContainer cookies) =>
        Browsers.Open(cookies: cookies);

    private static FormUrlEncodedContent Form(string name, string value) => new([new KeyValuePair<string, string>(name, value)]);

    private static string? SessionCookie(CookieContainer cookies, string url) => cookies.GetCookies(new Uri(url))[".Shop.Session"]?.Value;
}
