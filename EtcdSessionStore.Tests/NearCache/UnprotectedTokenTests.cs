using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.NearCache;

/// <summary>
/// With the near cache on, an instance keeps the secret keys of the tokens it unprotected lately, so a client's
/// requests do not each pay Data Protection's decryption: on real Kestrel, with a real key manager.
/// </summary>
public sealed class UnprotectedTokenTests
{
    [Test]
    public async Task AClientsToken_IsUnprotectedOnce_NotOnEveryRequest()
    {
        var keyRing = new CountingProvider(NearCacheApp.NewKeyRing());
        await using var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, EtcdFixture.UniquePrefix(nameof(UnprotectedTokenTests)), keyRing);
        using var browser = Browsers.Open();
        (await browser.PostAsync($"{app.Url}/set?k=n&v=0", null)).EnsureSuccessStatusCode();
        var before = keyRing.Unprotects;

        for (var i = 1; i <= 20; i++)
        {
            (await browser.PostAsync($"{app.Url}/set?k=n&v={i}", null)).EnsureSuccessStatusCode();
            Assert.That(await browser.GetStringAsync($"{app.Url}/get?k=n"), Is.EqualTo(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Assert.That(keyRing.Unprotects - before, Is.EqualTo(0), "the token this instance made is known to it: 40 requests, no decryption");
    }

    [Test]
    public async Task ATokenOneCharacterAwayFromAKnownOne_OpensNothing()
    {
        await using var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, EtcdFixture.UniquePrefix(nameof(UnprotectedTokenTests)), NearCacheApp.NewKeyRing());
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        (await browser.PostAsync($"{app.Url}/set?k=n&v=secret", null)).EnsureSuccessStatusCode();
        var known = cookies.GetCookies(new Uri(app.Url)).Single();
        Assert.That(await browser.GetStringAsync($"{app.Url}/get?k=n"), Is.EqualTo("secret")); // the token is known now

        var token = known.Value;
        var tampered = token[..5] + (token[5] == 'A' ? 'B' : 'A') + token[6..];
        using var forged = Browsers.Open();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{app.Url}/get?k=n");
        request.Headers.Add("Cookie", $"{known.Name}={tampered}");
        using var response = await forged.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "only the exact token is known; any other goes through Data Protection");
    }

    [Test]
    public async Task WithTheNearCacheOff_EveryRequestUnprotectsItsToken()
    {
        var keyRing = new CountingProvider(NearCacheApp.NewKeyRing());
        await using var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, EtcdFixture.UniquePrefix(nameof(UnprotectedTokenTests)), keyRing,
            configure: o => o.NearCache.Enabled = false);
        using var browser = Browsers.Open();
        (await browser.PostAsync($"{app.Url}/set?k=n&v=0", null)).EnsureSuccessStatusCode();
        var before = keyRing.Unprotects;

        for (var i = 0; i < 5; i++)
        {
            Assert.That(await browser.GetStringAsync($"{app.Url}/get?k=n"), Is.EqualTo("0"));
        }

        Assert.That(keyRing.Unprotects - before, Is.EqualTo(5), "the store behaves as it did before the near cache");
    }

    [Test]
    public async Task AfterTheDataProtectionKeysAreRevoked_AKnownTokenOpensNothing()
    {
        var keysDirectory = Directory.CreateTempSubdirectory("etcd-session-keys-");
        try
        {
            var services = new ServiceCollection();
            services.AddDataProtection().PersistKeysToFileSystem(keysDirectory);
            await using var keyServices = services.BuildServiceProvider();
            var keyManager = keyServices.GetRequiredService<IKeyManager>();
            await using var app = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, EtcdFixture.UniquePrefix(nameof(UnprotectedTokenTests)),
                keyServices.GetRequiredService<IDataProtectionProvider>(), services: s => s.AddSingleton(keyManager));
            using var browser = Browsers.Open();
            (await browser.PostAsync($"{app.Url}/set?k=n&v=secret", null)).EnsureSuccessStatusCode();
            Assert.That(await browser.GetStringAsync($"{app.Url}/get?k=n"), Is.EqualTo("secret"));

            keyManager.RevokeAllKeys(DateTimeOffset.UtcNow.AddSeconds(1), "the keys leaked");

            // Data Protection itself reloads its key ring in the background: a request or two may still pass meanwhile.
            var answers = new List<HttpStatusCode>();
            var until = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < until)
            {
                using var response = await browser.GetAsync($"{app.Url}/get?k=n");
                answers.Add(response.StatusCode);
                await Task.Delay(20);
            }

            var firstRefusal = answers.IndexOf(HttpStatusCode.NotFound);
            Assert.Multiple(() =>
            {
                Assert.That(firstRefusal, Is.InRange(0, 10), "the revoked key stops opening the session: " + string.Join(", ", answers));
                Assert.That(answers.Skip(firstRefusal), Is.All.EqualTo(HttpStatusCode.NotFound), "and no token is trusted again from memory");
            });
        }
        finally
        {
            keysDirectory.Delete(recursive: true);
        }
    }

    /// <summary>Counts the Unprotect calls of every protector it hands out.</summary>
    private sealed class CountingProvider(IDataProtectionProvider inner) : IDataProtectionProvider
    {
        private int _unprotects;

        public int Unprotects => Volatile.Read(ref _unprotects);

        public IDataProtector CreateProtector(string purpose) => new Counting(inner.CreateProtector(purpose), this);

        private sealed class Counting(IDataProtector protector, CountingProvider owner) : IDataProtector
        {
            public IDataProtector CreateProtector(string purpose) => new Counting(protector.CreateProtector(purpose), owner);

            public byte[] Protect(byte[] plaintext) => protector.Protect(plaintext);

            public byte[] Unprotect(byte[] protectedData)
            {
                Interlocked.Increment(ref owner._unprotects);
                return protector.Unprotect(protectedData);
            }
        }
    }
}
