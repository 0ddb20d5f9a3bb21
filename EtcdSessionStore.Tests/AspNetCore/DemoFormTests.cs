using System.Net;
using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using static Etcd.AspNetCore.Session.Tests.Infrastructure.DemoShop;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The demo's form posts on real Kestrel: a body it cannot use is the client's mistake (400), never a 500.</summary>
public sealed class DemoFormTests
{
    private DemoShop _shop = null!;

    [OneTimeSetUp]
    public async Task StartShop() => _shop = await StartAsync(EtcdFixture.UniquePrefix(nameof(DemoFormTests)));

    [OneTimeTearDown]
    public async Task StopShop()
    {
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }
    }

    public static IEnumerable<TestCaseData> MalformedForms()
    {
        const string urlEncoded = "application/x-www-form-urlencoded";
        foreach (var route in new[] { "/login", "/cart", "/logout", "/sessions/revoke", "/sessions/revoke-all" })
        {
            yield return new TestCaseData(route, urlEncoded, "user=%00&item=%00&id=%00").SetArgDisplayNames(route, "percent-encoded NUL");
            yield return new TestCaseData(route, "multipart/form-data", "user=alice").SetArgDisplayNames(route, "multipart without boundary");
            yield return new TestCaseData(route, "multipart/form-data; boundary=x", "--x\r\nnot a header\r\n\r\nalice").SetArgDisplayNames(route, "broken multipart");
        }
    }

    [TestCaseSource(nameof(MalformedForms))]
    public async Task AMalformedFormBody_Gets400_NotAServerError(string route, string contentType, string body)
    {
        using var browser = Browsers.Open();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await browser.PostAsync(_shop.Url + route, content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task AUserNameWithAControlCharacter_Gets400()
    {
        using var browser = Browsers.Open();

        using var response = await browser.PostAsync(_shop.Url + "/login", Form(("user", "al\u0001ice")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task AWellFormedForm_StillWorks()
    {
        using var browser = Browsers.Open();

        using var login = await browser.PostAsync(_shop.Url + "/login", Form(("user", "alice")));
        using var cart = await browser.PostAsync(_shop.Url + "/cart", Form(("item", "apple")));

        Assert.Multiple(() =>
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(cart.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }
}
