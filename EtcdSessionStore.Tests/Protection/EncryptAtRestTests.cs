using System.Net;
using System.Text;
using System.Text.Json;
using Etcd.AspNetCore.Session.DataProtection;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Protection;

/// <summary>
/// EncryptAtRest: session items are sealed in etcd under keys from the app's Data Protection key ring; the header stays
/// readable. Each bad input (tampered, another session's items, a key gone from the ring) gives a fresh session, the
/// <c>SessionUnsealFailed</c> event and the value left in etcd.
/// </summary>
public sealed class EncryptAtRestTests
{
    private const string Secret = "a cart nobody may read in etcd";
    private const int UnsealFailed = 148;

    [TestCase("JSON")]
    [TestCase("YAML")]
    [TestCase("Binary")]
    public async Task SealedSession_RoundTrips_AndEtcdHoldsNoPlaintextItem_UnderAReadableHeader(string serializer)
    {
        using var store = TestStore.Create(o =>
        {
            o.EncryptAtRest = true;
            o.Serializer = serializer;
        });
        var session = await store.SeedAsync(("cart", Secret));

        var raw = await RawAsync(store.StorageKeyOf(session.SessionKey));
        var reopened = await store.OpenAsync(session.SessionKey);

        var header = Header(raw);
        Assert.Multiple(() =>
        {
            Assert.That(reopened.GetString("cart"), Is.EqualTo(Secret));
            Assert.That(Encoding.Latin1.GetString(raw), Does.Not.Contain("nobody").And.Not.Contain("cart"), "neither the item nor its key is readable in etcd");
            Assert.That(header.GetProperty("id").GetString(), Is.EqualTo(reopened.Id), "the header stays readable");
            Assert.That(header.GetProperty("ser").GetString(), Is.EqualTo(serializer));
            Assert.That(Guid.TryParse(header.GetProperty("seal").GetString(), out _), Is.True, "the header names the key-ring key: " + header);
        });
    }

    [Test]
    public async Task WithoutEncryptAtRest_TheItemIsPlaintextInEtcd()
    {
        using var store = TestStore.Create();
        var session = await store.SeedAsync(("cart", Secret));

        var raw = await RawAsync(store.StorageKeyOf(session.SessionKey));

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(raw), Does.Contain(Secret), "off by default: the stored format is unchanged");
            Assert.That(Header(raw).TryGetProperty("seal", out _), Is.False);
        });
    }

    [Test]
    public async Task SealedItems_UnderAnotherSessionsHeader_DoNotOpen_TheSessionStartsOver_AndTheValueStays()
    {
        var logs = new CapturingLoggerProvider();
        using var store = TestStore.Create(o => o.EncryptAtRest = true, s => s.AddSingleton<ILoggerProvider>(logs));
        var victim = await store.SeedAsync(("cart", Secret));
        var other = await store.SeedAsync(("cart", "mine"));
        var victimValue = await RawAsync(store.StorageKeyOf(victim.SessionKey));
        var otherKey = store.StorageKeyOf(other.SessionKey);

        // The other session's own header (its id, its key-ring key) over the victim's sealed items.
        var moved = HeaderLine(await RawAsync(otherKey)).Concat(Items(victimValue)).ToArray();
        await PutRawAsync(otherKey, moved);
        var opened = await store.OpenAsync(other.SessionKey);

        await AssertStartedOverAsync(opened, other.SessionKey, otherKey, moved, logs);
        Assert.That((await store.OpenAsync(victim.SessionKey)).GetString("cart"), Is.EqualTo(Secret), "the victim's session is untouched");
    }

    [Test]
    public async Task TamperedSealedValue_ThroughKestrel_GivesAFreshSessionAndNoError_LogsIt_AndLeavesTheValue()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.EncryptAtRest = true, kestrel: true);
        var browser = server.NewBrowser();
        (await browser.PostAsync($"/set?key=cart&value={Uri.EscapeDataString(Secret)}")).EnsureSuccessStatusCode();
        var cookie = browser.SessionCookie!;
        var key = (await EtcdFixture.Client.GetRangeAsync(server.Prefix + "s/")).Kvs.Single().Key.ToStringUtf8();
        var tampered = await RawAsync(key);
        tampered[^20] ^= 0x01; // one bit of the ciphertext
        await PutRawAsync(key, tampered);

        using var response = await browser.GetAsync("/get?key=cart");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.Empty);
            Assert.That(await RawAsync(key), Is.EqualTo(tampered), "the value stays in etcd for inspection");
            Assert.That(server.Logs.Entries.Where(e => e.EventId.Id == UnsealFailed).Select(e => e.Message), Has.Some.Contains("does not verify"));
        });

        // The fresh session works, and the old key is never adopted.
        (await browser.PostAsync("/set?key=cart&value=again")).EnsureSuccessStatusCode();
        Assert.Multiple(async () =>
        {
            Assert.That(browser.SessionCookie, Is.Not.EqualTo(cookie));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("again"));
        });
    }

    [Test]
    public async Task AfterTheKeyRingRotates_OldValuesStillOpen_AndAreResealedUnderTheNewKeyOnTheirNextWrite()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(EncryptAtRestTests));
        using var store = await KeyRingInEtcdStoreAsync(prefix);
        var session = await store.SeedAsync(("cart", Secret));
        var key = SessionKeys.StorageKey(prefix, session.SessionKey);
        var sealedBefore = await RawAsync(key);
        var before = Header(sealedBefore).GetProperty("seal").GetString();

        var newKey = store.Services.GetRequiredService<IKeyManager>().CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));
        var reopened = await store.OpenAsync(session.SessionKey);
        Assert.Multiple(async () =>
        {
            Assert.That(before, Is.Not.EqualTo(newKey.KeyId.ToString("D")));
            Assert.That(reopened.GetString("cart"), Is.EqualTo(Secret), "sealed under the older key, it still opens");
            Assert.That(await RawAsync(key), Is.EqualTo(sealedBefore), "a read does not reseal");
        });

        // Data Protection adopts the new default key as it reloads its ring: each write seals under the key in force then.
        string? after = before;
        for (var write = 0; after != newKey.KeyId.ToString("D") && write < 100; write++)
        {
            reopened = await store.OpenAsync(session.SessionKey);
            reopened.SetString("writes", write.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await reopened.CommitAsync();
            after = Header(await RawAsync(key)).GetProperty("seal").GetString();
            await Task.Delay(50);
        }

        using var otherInstance = await KeyRingInEtcdStoreAsync(prefix);
        Assert.Multiple(async () =>
        {
            Assert.That(after, Is.EqualTo(newKey.KeyId.ToString("D")), "resealed under the current key");
            Assert.That((await store.OpenAsync(session.SessionKey)).GetString("cart"), Is.EqualTo(Secret));
            Assert.That((await otherInstance.OpenAsync(session.SessionKey)).GetString("cart"), Is.EqualTo(Secret), "another instance of the app opens it too");
        });
    }

    [Test]
    public async Task AValueSealedUnderAKeyGoneFromTheRing_GivesAFreshSession_LogsIt_AndLeavesTheValue()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(EncryptAtRestTests));
        string secret;
        using (var before = await KeyRingInEtcdStoreAsync(prefix))
        {
            secret = (await before.SeedAsync(("cart", Secret))).SessionKey;
        }

        await EtcdFixture.Client.DeleteRangeAsync(prefix + EtcdDataProtectionBuilderExtensions.Folder); // the key ring loses its key
        var key = SessionKeys.StorageKey(prefix, secret);
        var stored = await RawAsync(key);
        var logs = new CapturingLoggerProvider();
        using var after = await KeyRingInEtcdStoreAsync(prefix, logs);

        var opened = await after.OpenAsync(secret);

        await AssertStartedOverAsync(opened, secret, key, stored, logs);
        Assert.That(logs.Entries.Where(e => e.EventId.Id == UnsealFailed).Select(e => e.Message), Has.Some.Contains("not in this app's key ring"));
    }

    [Test]
    public async Task TheDirectoryWithoutTheKeyRing_ListsAndRevokesSealedSessions_FromTheirReadableHeader()
    {
        // An admin tool run elsewhere has etcd access but not the app's key ring.
        var prefix = EtcdFixture.UniquePrefix(nameof(EncryptAtRestTests));
        using var app = TestStore.Create(o =>
        {
            o.KeyPrefix = prefix;
            o.EncryptAtRest = true;
        }, s => s.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
        using var admin = TestStore.Create(o => o.KeyPrefix = prefix, s => s.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
        var session = await app.SeedAsync(("cart", Secret));
        var directory = admin.Services.GetRequiredService<EtcdSessionDirectory>();

        var listed = (await directory.ListAllAsync()).Sessions.Single();
        var revoked = await directory.RevokeByIdAsync(session.Id);

        Assert.Multiple(async () =>
        {
            Assert.That(listed.SessionId, Is.EqualTo(session.Id));
            Assert.That(listed.ReadError, Is.Null);
            Assert.That(revoked, Is.True);
            Assert.That((await EtcdFixture.Client.GetAsync(SessionKeys.StorageKey(prefix, session.SessionKey))).Kvs, Is.Empty);
        });
    }

    [Test]
    public async Task TurningEncryptionOnAndOff_WithLiveSessions_OpensThemAll_AndEachNextWriteFollowsTheMode()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(EncryptAtRestTests));
        var keyRing = new EphemeralDataProtectionProvider();
        using var off = TestStore.Create(o => o.KeyPrefix = prefix, s => s.AddSingleton<IDataProtectionProvider>(keyRing));
        using var on = TestStore.Create(o =>
        {
            o.KeyPrefix = prefix;
            o.EncryptAtRest = true;
        }, s => s.AddSingleton<IDataProtectionProvider>(keyRing));
        var plain = await off.SeedAsync(("cart", Secret));
        var sealedOne = await on.SeedAsync(("cart", Secret));
        var plainKey = SessionKeys.StorageKey(prefix, plain.SessionKey);
        var sealedKey = SessionKeys.StorageKey(prefix, sealedOne.SessionKey);
        var sealingCost = (await RawAsync(sealedKey)).Length - (await RawAsync(plainKey)).Length;

        // Off -> on: the plaintext session opens, and is sealed by its next write.
        var plainOpenedSealing = await on.OpenAsync(plain.SessionKey);
        var stillPlain = IsSealed(await RawAsync(plainKey));
        plainOpenedSealing.SetString("more", "1");
        await plainOpenedSealing.CommitAsync();

        // On -> off: the sealed session opens, and is plaintext again after its next write.
        var sealedOpenedPlain = await off.OpenAsync(sealedOne.SessionKey);
        var stillSealed = IsSealed(await RawAsync(sealedKey));
        sealedOpenedPlain.SetString("more", "1");
        await sealedOpenedPlain.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(sealingCost, Is.EqualTo(241), "the size docs/storage-format.md gives, with Data Protection's default algorithms");
            Assert.That(plainOpenedSealing.GetString("cart"), Is.EqualTo(Secret));
            Assert.That(stillPlain, Is.False, "a read does not change the stored mode");
            Assert.That(IsSealed(await RawAsync(plainKey)), Is.True);
            Assert.That((await off.OpenAsync(plain.SessionKey)).GetString("cart"), Is.EqualTo(Secret));

            Assert.That(sealedOpenedPlain.GetString("cart"), Is.EqualTo(Secret));
            Assert.That(stillSealed, Is.True);
            Assert.That(Encoding.UTF8.GetString(await RawAsync(sealedKey)), Does.Contain(Secret), "written with encryption off: plaintext");
            Assert.That((await on.OpenAsync(sealedOne.SessionKey)).GetString("cart"), Is.EqualTo(Secret));
        });
    }

    [Test]
    public async Task WithTheNearCacheAndRotation_SealedSessionsAreServedFromTheCache_AndStaySealed()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(EncryptAtRestTests));
        var keyRing = NearCacheApp.NewKeyRing();
        await using var writer = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing, configure: o => o.EncryptAtRest = true);
        await using var reader = await NearCacheApp.StartAsync(EtcdFixture.Endpoints, prefix, keyRing, configure: o => o.EncryptAtRest = true);
        await reader.WaitUntilFreshAsync(TimeSpan.FromSeconds(30));
        var cookies = new CookieContainer();
        using var browser = Browsers.Open(cookies: cookies);
        (await browser.PostAsync($"{writer.Url}/set?k=cart&v={Uri.EscapeDataString(Secret)}", null)).EnsureSuccessStatusCode();
        var before = cookies.GetCookies(new Uri(writer.Url))[EtcdSessionDefaults.CookieName]!.Value;
        cookies.Add(new Uri(reader.Url), new Cookie(EtcdSessionDefaults.CookieName, before));

        var reads = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            reads.Add(await browser.GetStringAsync($"{reader.Url}/get?k=cart"));
        }

        var hitsBeforeRotation = reader.Hits;
        (await browser.PostAsync($"{reader.Url}/regenerate", null)).EnsureSuccessStatusCode();
        var after = cookies.GetCookies(new Uri(reader.Url))[EtcdSessionDefaults.CookieName]!.Value;
        for (var i = 0; i < 3; i++)
        {
            reads.Add(await browser.GetStringAsync($"{reader.Url}/get?k=cart"));
        }

        using var stale = Browsers.Open();
        using var staleRequest = new HttpRequestMessage(HttpMethod.Get, $"{reader.Url}/get?k=cart");
        staleRequest.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={before}");
        using var staleResponse = await stale.SendAsync(staleRequest);
        var stored = (await EtcdFixture.Client.GetRangeAsync(prefix + "s/")).Kvs.Single().Value.ToByteArray();

        Assert.Multiple(() =>
        {
            Assert.That(reads, Is.All.EqualTo(Secret));
            Assert.That(hitsBeforeRotation, Is.GreaterThan(0), "served from the near cache");
            Assert.That(reader.Hits, Is.GreaterThan(hitsBeforeRotation), "and again after the rotation");
            Assert.That(after, Is.Not.EqualTo(before), "rotated");
            Assert.That(staleResponse.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the old cookie opens nothing");
            Assert.That(IsSealed(stored), Is.True);
            Assert.That(Encoding.Latin1.GetString(stored), Does.Not.Contain("nobody"));
        });
    }

    private static async Task<TestStore> KeyRingInEtcdStoreAsync(string prefix, CapturingLoggerProvider? logs = null)
    {
        var store = TestStore.Create(o =>
        {
            o.KeyPrefix = prefix;
            o.EncryptAtRest = true;
        }, s =>
        {
            s.AddDataProtection().PersistKeysToEtcd();
            if (logs is not null)
            {
                s.AddSingleton<ILoggerProvider>(logs);
            }
        });
        await store.Services.GetRequiredService<EtcdXmlRepository>().LoadAsync(CancellationToken.None); // EtcdKeyRingLoader's job in a host
        return store;
    }

    private static async Task AssertStartedOverAsync(global::Etcd.AspNetCore.Session.Sessions.EtcdSession opened, string secret, string key, byte[] stored,
        CapturingLoggerProvider logs)
    {
        var raw = await RawAsync(key);
        Assert.Multiple(() =>
        {
            Assert.That(opened.IsAvailable, Is.True);
            Assert.That(opened.IsStored, Is.False);
            Assert.That(opened.Keys, Is.Empty);
            Assert.That(opened.SessionKey, Is.Not.EqualTo(secret), "a key whose value does not open is never adopted");
            Assert.That(raw, Is.EqualTo(stored), "the value stays in etcd for inspection");
            Assert.That(logs.Entries.Select(e => e.EventId.Id), Has.Member(UnsealFailed));
        });
    }

    private static bool IsSealed(byte[] value) => Header(value).TryGetProperty("seal", out _);

    private static JsonElement Header(byte[] value) => JsonDocument.Parse(HeaderLine(value)).RootElement.Clone();

    private static byte[] HeaderLine(byte[] value) => value[..(Array.IndexOf(value, (byte)'\n') + 1)];

    private static byte[] Items(byte[] value) => value[(Array.IndexOf(value, (byte)'\n') + 1)..];

    private static async Task<byte[]> RawAsync(string key) => (await EtcdFixture.Client.GetAsync(key)).Kvs.Single().Value.ToByteArray();

    private static Task PutRawAsync(string key, byte[] value) =>
        EtcdFixture.Client.PutAsync(new PutRequest { Key = ByteString.CopyFrom(Encoding.UTF8.GetBytes(key)), Value = ByteString.CopyFrom(value) });
}
