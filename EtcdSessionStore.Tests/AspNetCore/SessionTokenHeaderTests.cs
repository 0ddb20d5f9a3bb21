using Etcd.AspNetCore.Session.DependencyInjection;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The session key carried in a header instead of a cookie, for APIs and native clients.</summary>
public sealed class SessionTokenHeaderTests
{
    private const string Header = "X-Session-Token";

    [Test]
    public async Task ANewSession_ReturnsItsKeyInTheHeader_AndTheHeaderOpensItAgain()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.SessionTokenHeaderName = Header);
        using var client = server.NewClient();

        using var created = await client.PostAsync("/set?key=cart&value=apples", null);
        var token = created.Headers.GetValues(Header).Single();
        using var read = await SendAsync(client, HttpMethod.Get, "/get?key=cart", token);

        Assert.Multiple(async () =>
        {
            Assert.That(token, Is.Not.Empty);
            Assert.That(await read.Content.ReadAsStringAsync(), Is.EqualTo("apples"));
            Assert.That(read.Headers.Contains(Header), Is.False, "an unchanged key is not sent again");
            Assert.That(read.Headers.Contains("Set-Cookie"), Is.False, "a header client gets no cookie");
        });
    }

    [Test]
    public async Task Rotation_ReturnsTheNewKeyInTheHeader_AndTheOldOneOpensNothing()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.SessionTokenHeaderName = Header);
        using var client = server.NewClient();
        using var created = await client.PostAsync("/set?key=cart&value=apples", null);
        var oldToken = created.Headers.GetValues(Header).Single();

        using var rotated = await SendAsync(client, HttpMethod.Post, "/regenerate", oldToken);
        var newToken = rotated.Headers.GetValues(Header).Single();
        using var viaNew = await SendAsync(client, HttpMethod.Get, "/get?key=cart", newToken);
        using var viaOld = await SendAsync(client, HttpMethod.Get, "/get?key=cart", oldToken);

        Assert.Multiple(async () =>
        {
            Assert.That(newToken, Is.Not.Empty.And.Not.EqualTo(oldToken));
            Assert.That(rotated.Headers.Contains("Set-Cookie"), Is.False);
            Assert.That(await viaNew.Content.ReadAsStringAsync(), Is.EqualTo("apples"));
            Assert.That(await viaOld.Content.ReadAsStringAsync(), Is.Empty);
            Assert.That(viaOld.Headers.Contains(Header), Is.False,
                "a key rotated away a moment ago is left alone: the client may already hold the new one");
        });
    }

    [Test]
    public async Task Destroy_AnswersWithAnEmptyHeader()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.SessionTokenHeaderName = Header);
        using var client = server.NewClient();
        using var created = await client.PostAsync("/set?key=cart&value=apples", null);
        var token = created.Headers.GetValues(Header).Single();

        using var destroyed = await SendAsync(client, HttpMethod.Post, "/destroy", token);
        using var after = await SendAsync(client, HttpMethod.Get, "/get?key=cart", token);

        Assert.That(destroyed.Headers.GetValues(Header).Single(), Is.Empty);
        Assert.That(await after.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public async Task WithoutTheOption_TheHeaderIsIgnored()
    {
        await using var server = await SessionTestServer.StartAsync();
        using var client = server.NewClient();
        var browser = server.NewBrowser();
        using var created = await browser.PostAsync("/set?key=cart&value=apples");

        using var viaHeader = await SendAsync(client, HttpMethod.Get, "/get?key=cart", browser.SessionCookie!);

        Assert.That(created.Headers.Contains(Header), Is.False);
        Assert.That(await viaHeader.Content.ReadAsStringAsync(), Is.Empty);
    }

    [TestCase("Set-Cookie")]
    [TestCase("X Session")]
    [TestCase("Authorization")]
    public void AnInvalidHeaderName_IsRejectedAtStartUp_WithItsName(string name)
    {
        var result = new EtcdSessionOptionsValidator().Validate(null, new EtcdSessionOptions { SessionTokenHeaderName = name });

        Assert.That(result.Failed, Is.True);
        Assert.That(result.FailureMessage, Does.Contain($"EtcdSession:SessionTokenHeaderName '{name}' is invalid"));
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(Header, token);
        return client.SendAsync(request);
    }
}
