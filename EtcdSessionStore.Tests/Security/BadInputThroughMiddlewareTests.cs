using System.Globalization;
using System.Net;
using System.Text;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Security;

/// <summary>
/// The bad-input catalogue through the real <c>UseEtcdSession</c> middleware (docs/security.md). Each case:
/// a documented outcome, never a 500 or a stack trace, and a neighbouring session left intact.
/// </summary>
public sealed class BadInputThroughMiddlewareTests
{
    private static IEnumerable<TestCaseData> BadCookies()
    {
        yield return new TestCaseData((Func<string, string>)(_ => "%%% not base64 \u00ff")).SetName("GarbageCookie_GivesAFreshSession");
        yield return new TestCaseData((Func<string, string>)(valid => valid[..(valid.Length / 2)])).SetName("TruncatedCookie_GivesAFreshSession");
        yield return new TestCaseData((Func<string, string>)(_ => new string('A', 10 * 1024))).SetName("OversizedCookie10KB_GivesAFreshSession");
        yield return new TestCaseData((Func<string, string>)(_ =>
            new EphemeralDataProtectionProvider().CreateProtector("Etcd.AspNetCore.Session.Cookie.v1").Protect(SessionKeys.NewSecret())))
            .SetName("CookieProtectedWithAnotherKeyRing_GivesAFreshSession");
        yield return new TestCaseData((Func<string, string>)(valid => valid[..^4] + (valid[^4] == 'A' ? 'B' : 'A') + valid[^3..])).SetName("TamperedCookie_GivesAFreshSession");
    }

    [TestCaseSource(nameof(BadCookies))]
    public async Task BadCookie(Func<string, string> makeCookie)
    {
        await using var server = await SessionTestServer.StartAsync();
        var neighbour = server.NewBrowser();
        (await neighbour.PostAsync("/set?key=cart&value=intact")).Dispose();
        var attacker = server.NewBrowser();
        attacker.Cookies.MaxCookieSize = 16 * 1024; // a browser would refuse 10 KB; an attacker's client will not
        attacker.SetSessionCookie(makeCookie(neighbour.SessionCookie!));

        using var read = await attacker.GetAsync("/get?key=cart");
        var readBody = await read.Content.ReadAsStringAsync();
        using var write = await attacker.PostAsync("/set?key=cart&value=mine");

        Assert.Multiple(async () =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(readBody, Is.Empty, "nothing of another session is visible");
            Assert.That(write.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await attacker.GetStringAsync("/get?key=cart"), Is.EqualTo("mine"));
            Assert.That(await neighbour.GetStringAsync("/get?key=cart"), Is.EqualTo("intact"));
            Assert.That((await EtcdFixture.Client.GetRangeAsync(server.Prefix)).Count, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ForgedCookieForAnUnknownId_ReadsNothing_AndNeverCreatesThatKey()
    {
        await using var server = await SessionTestServer.StartAsync();
        var forged = SessionKeys.NewSecret();
        var browser = server.NewBrowser();
        browser.SetSessionCookie(server.ProtectedCookieFor(forged));

        using var read = await browser.GetAsync("/get?key=cart");
        (await browser.PostAsync("/set?key=cart&value=x")).Dispose();

        Assert.Multiple(async () =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await EtcdFixture.Client.GetAsync(server.StorageKeyOf(forged))).Count, Is.Zero);
        });
    }

    [TestCase("{\"v\":2,\"id\":\"x\",\"created\":1,\"idle\":1,\"ser\":\"JSON\"}\n{}", TestName = "StoredValueWithAnotherFormatRevision_ThroughTheMiddleware_GivesAFreshSession")]
    [TestCase("{\"v\":1,\"id\":\"x\",\"created\":1,\"idle\":1200,\"abs\":null,\"ser\":\"JSON\"}\n{\"cart\":", TestName = "StoredValueWithACorruptBody_ThroughTheMiddleware_GivesAFreshSession")]
    public async Task CorruptStoredValue(string stored)
    {
        await using var server = await SessionTestServer.StartAsync();
        var secret = SessionKeys.NewSecret();
        var key = server.StorageKeyOf(secret);
        await EtcdFixture.Client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(Encoding.UTF8.GetBytes(stored)) });
        var browser = server.NewBrowser();
        browser.SetSessionCookie(server.ProtectedCookieFor(secret));

        using var read = await browser.GetAsync("/get?key=cart");
        var body = await read.Content.ReadAsStringAsync();
        using var write = await browser.PostAsync("/set?key=cart&value=new");

        Assert.Multiple(async () =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.Empty);
            Assert.That(write.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await EtcdFixture.Client.GetAsync(key)).Kvs[0].Value.ToStringUtf8(), Is.EqualTo(stored), "the unreadable value is left alone");
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("new"));
        });
    }

    private static IEnumerable<TestCaseData> HostilePayloads()
    {
        // The "billion laughs": nine levels of nine aliases each, a billion strings if a parser expanded them.
        var bomb = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            var previous = (char)(level - 1);
            bomb.Append(CultureInfo.InvariantCulture, $"{level}: &{level} [{string.Join(',', Enumerable.Repeat($"*{previous}", 9))}]\n");
        }

        yield return new TestCaseData("YAML", bomb.ToString()).SetName("YamlAliasBomb_ThroughTheMiddleware_GivesAFreshSessionAtOnce");
        yield return new TestCaseData("YAML", new string('[', 50_000) + new string(']', 50_000)).SetName("DeeplyNestedYaml_ThroughTheMiddleware_GivesAFreshSession");
        yield return new TestCaseData("JSON", "{\"cart\":" + new string('[', 50_000) + new string(']', 50_000) + "}").SetName("DeeplyNestedJson_ThroughTheMiddleware_GivesAFreshSession");
    }

    [TestCaseSource(nameof(HostilePayloads))]
    public async Task HostileStoredPayload(string serializer, string payload)
    {
        await using var server = await SessionTestServer.StartAsync(o => o.Serializer = serializer);
        var neighbour = server.NewBrowser();
        (await neighbour.PostAsync("/set?key=cart&value=intact")).Dispose();
        var secret = SessionKeys.NewSecret();
        var header = $"{{\"v\":1,\"id\":\"x\",\"created\":1,\"idle\":1200,\"abs\":null,\"ser\":\"{serializer}\"}}\n";
        await EtcdFixture.Client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(server.StorageKeyOf(secret)), Value = ByteString.CopyFromUtf8(header + payload) });
        var browser = server.NewBrowser();
        browser.SetSessionCookie(server.ProtectedCookieFor(secret));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var read = await browser.GetAsync("/get?key=cart");
        var elapsed = watch.Elapsed;

        Assert.Multiple(async () =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await read.Content.ReadAsStringAsync(), Is.Empty);
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "rejected, not expanded");
            Assert.That(await neighbour.GetStringAsync("/get?key=cart"), Is.EqualTo("intact"));
        });
    }

    [Test]
    public async Task SessionOverTheSizeLimit_Answers413WithProblemDetails_NoStackTrace_AndKeepsTheStoredSession()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.MaxSessionBytes = 4096);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=small")).Dispose();

        using var response = await browser.PostAsync($"/set?key=cart&value={new string('x', 8000)}");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), "retrying would not help: not a 503");
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Not.Contain("Exception").And.Not.Contain(" at "));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("small"));
        });
    }

    [Test]
    public async Task TheEtcdKey_RevealsNeitherTheSecretNorTheCookie()
    {
        await using var server = await SessionTestServer.StartAsync();
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();

        var kv = (await EtcdFixture.Client.GetRangeAsync(server.Prefix)).Kvs.Single();
        var stored = kv.Key.ToStringUtf8() + kv.Value.ToStringUtf8();
        var cookie = browser.SessionCookie!;
        var secret = server.Services.GetRequiredService<IDataProtectionProvider>()
            .CreateProtector("Etcd.AspNetCore.Session.Cookie.v1").Unprotect(Uri.UnescapeDataString(cookie));

        Assert.Multiple(() =>
        {
            Assert.That(stored, Does.Not.Contain(cookie));
            Assert.That(stored, Does.Not.Contain(secret));
            Assert.That(kv.Key.ToStringUtf8(), Is.EqualTo(server.StorageKeyOf(secret)));
            Assert.That(kv.Key.ToStringUtf8(), Does.Match("^" + System.Text.RegularExpressions.Regex.Escape(server.Prefix) + "s/[A-Za-z0-9_-]{43}$"),
                "the key is the prefix and a SHA-256 in base64url, nothing else");
        });
    }
}
