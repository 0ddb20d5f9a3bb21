using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Security;

/// <summary>
/// The bad-input catalogue at the store: what a client can present as a session key, and what etcd can
/// hold under a session key. Each case has one documented outcome (docs/security.md) and never harms
/// another session.
/// </summary>
public sealed class BadStoredInputTests
{
    private const string Header = "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"created\":1700000000000,\"idle\":1200,\"abs\":null,\"ser\":\"JSON\"}\n";

    private static IEnumerable<TestCaseData> CorruptValues()
    {
        yield return new TestCaseData("{\"v\":99,\"id\":\"x\",\"created\":1,\"idle\":1,\"ser\":\"JSON\"}\n{}").SetName("StoredValue_WithAnotherFormatRevision_GivesAFreshSession");
        yield return new TestCaseData(Header + "{\"a\":").SetName("StoredValue_WithATruncatedBody_GivesAFreshSession");
        yield return new TestCaseData(Header + "\u0001\u0002 not json").SetName("StoredValue_WithAGarbageBody_GivesAFreshSession");
        yield return new TestCaseData("no header at all").SetName("StoredValue_WithoutAHeader_GivesAFreshSession");
        yield return new TestCaseData(Header.Replace("JSON", "Pickle", StringComparison.Ordinal) + "{}").SetName("StoredValue_FromAnUnknownSerializer_GivesAFreshSession");
        yield return new TestCaseData(Header + new string('[', 100_000) + new string(']', 100_000)).SetName("StoredValue_WithDeeplyNestedJson_GivesAFreshSession");
        yield return new TestCaseData(Header + "{\"a\":" + new string('[', 5_000) + new string(']', 5_000) + "}").SetName("StoredValue_WithDeeplyNestedItem_GivesAFreshSession");
    }

    [TestCaseSource(nameof(CorruptValues))]
    public async Task CorruptStoredValue(string stored)
    {
        using var store = TestStore.Create();
        var neighbour = await StoredSessionAsync(store, "neighbour", "intact");
        var secret = "planted-or-corrupted-key";
        var key = store.StorageKeyOf(secret);
        await PutRawAsync(key, Encoding.UTF8.GetBytes(stored));

        var session = await store.OpenAsync(secret);

        Assert.Multiple(async () =>
        {
            Assert.That(session.IsAvailable, Is.True);
            Assert.That(session.IsStored, Is.False);
            Assert.That(session.Keys, Is.Empty);
            Assert.That(session.SessionKey, Is.Not.EqualTo(secret), "a key whose value cannot be read is never adopted");
            Assert.That((await EtcdFixture.Client.GetAsync(key)).Kvs[0].Value.ToStringUtf8(), Is.EqualTo(stored), "the unreadable value stays for inspection");
            Assert.That((await store.OpenAsync(neighbour)).GetString("neighbour"), Is.EqualTo("intact"));
        });
    }

    [TestCase("forged-session-key-never-issued")]
    [TestCase("")]
    [TestCase("\u0000\u0001\u007f<script>")]
    [TestCase("../../etc/passwd")]
    public async Task UnknownOrForgedKey_GivesAFreshSessionUnderANewKey_AndCreatesNothing(string presented)
    {
        using var store = TestStore.Create();
        var secret = presented.Length == 0 ? new string('x', 10_000) : presented; // "" stands for a 10 KB key

        var session = await store.OpenAsync(secret);
        session.SetString("a", "1");
        await session.CommitAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(session.SessionKey, Is.Not.EqualTo(secret));
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(secret))).Kvs, Is.Empty);
            Assert.That((await EtcdFixture.Client.GetRangeAsync(store.Prefix)).Kvs, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task AHugeNumberOfKeys_WithinTheSizeLimit_IsStoredAndReadBack()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        for (var i = 0; i < 10_000; i++)
        {
            session.SetString($"k{i}", "v");
        }

        await session.CommitAsync();

        Assert.That((await store.OpenAsync(session.SessionKey)).Keys.Count(), Is.EqualTo(10_000));
    }

    [Test]
    public async Task AHugeNumberOfKeys_OverTheSizeLimit_FailsClearly_AndWritesNothing()
    {
        using var store = TestStore.Create();
        var session = store.NewSession();
        for (var i = 0; i < 100_000; i++)
        {
            session.SetString($"key-{i:D8}", "value");
        }

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.TooLarge));
            Assert.That(ex.Message, Does.Contain("MaxSessionBytes"));
            Assert.That((await EtcdFixture.Client.GetRangeAsync(store.Prefix)).Kvs, Is.Empty);
        });
    }

    [Test]
    public async Task ASessionOverEtcdsOwnRequestLimit_IsRefusedByEtcd_AsTooLarge()
    {
        // MaxSessionBytes allows more than this etcd accepts (--max-request-bytes lowered to 64 KiB).
        await using var etcd = await EtcdMember.StartSingleAsync("small-requests", ["--max-request-bytes", "65536"]);
        using var store = TestStore.Create(o => o.MaxSessionBytes = 512 * 1024, endpoints: etcd.ClientUrl);
        var session = store.NewSession();
        session.Set("big", new byte[100 * 1024]);

        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.TooLarge), ex.Message);
    }

    private static async Task<string> StoredSessionAsync(TestStore store, string key, string value)
    {
        var session = store.NewSession();
        session.SetString(key, value);
        await session.CommitAsync();
        return session.SessionKey;
    }

    private static Task PutRawAsync(string key, byte[] value) =>
        EtcdFixture.Client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) });
}
