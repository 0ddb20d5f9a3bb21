using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.DataProtection;

/// <summary>
/// Issue "no acknowledged write is lost", rule 5: with the key ring in etcd, an app that (re)starts while etcd is down
/// answers a valid cookie with 503 (or goes on without a session), never deletes it, and recovers by itself.
/// </summary>
public sealed class KeyRingUnavailableTests
{
    [TestCase("FailRequest", HttpStatusCode.ServiceUnavailable)]
    [TestCase("ContinueWithoutSession", HttpStatusCode.OK)]
    public async Task AppRestartedWhileEtcdIsDown_AnswersAValidCookieAsUnavailable_KeepsIt_AndRecovers(string behavior, HttpStatusCode whileDown)
    {
        await using var etcd = await EtcdMember.StartSingleAsync("keyring");
        var prefix = EtcdFixture.UniquePrefix(nameof(KeyRingUnavailableTests));
        string[] args = ["--EtcdSession:Endpoints", etcd.ClientUrl, "--EtcdSession:IOTimeout", "00:00:01", "--EtcdSession:UnavailableBehavior", behavior];
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        string url;
        await using (var before = await DemoShop.StartAsync(prefix, args))
        {
            url = before.Url;
            (await browser.PostAsync(before.Url + "/cart", DemoShop.Form(("item", "apple")))).EnsureSuccessStatusCode();
        }

        var cookie = cookies.GetCookies(new Uri(url))[".Shop.Session"]!.Value;
        await etcd.KillAsync();
        await using var restarted = await DemoShop.StartAsync(prefix, args);
        cookies.Add(new Uri(restarted.Url), new Cookie(".Shop.Session", cookie));

        using var down = await browser.GetAsync(restarted.Url + "/cart");
        var downBody = await down.Content.ReadAsStringAsync();
        var cookieAfterDown = cookies.GetCookies(new Uri(restarted.Url))[".Shop.Session"]?.Value;
        await etcd.StartAsync();
        var recovered = await RecoveredCartAsync(browser, restarted.Url + "/cart");

        Assert.Multiple(() =>
        {
            Assert.That(down.StatusCode, Is.EqualTo(whileDown));
            Assert.That(downBody, Does.Not.Contain("apple"));
            Assert.That(down.Headers.TryGetValues("Set-Cookie", out var set) ? set.Where(v => v.StartsWith(".Shop.Session=", StringComparison.Ordinal)) : [], Is.Empty,
                "the valid cookie is neither deleted nor replaced");
            Assert.That(cookieAfterDown, Is.EqualTo(cookie));
            Assert.That(recovered, Is.EqualTo("[\"apple\"]"));
        });
    }

    /// <summary>The cart once the app answers with it again (the etcd client reconnects with a back-off), within 15 s.</summary>
    private static async Task<string> RecoveredCartAsync(HttpClient browser, string url)
    {
        var (_, cart) = await Eventually.ValueAsync(async () =>
        {
            using var response = await browser.GetAsync(url);
            return (response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }, read => read.IsSuccessStatusCode && read.Item2.Contains("apple", StringComparison.Ordinal), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        return cart;
    }
}
