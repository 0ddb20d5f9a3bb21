using System.Text;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

public sealed class SerializerBadInputTests
{
    private static readonly string DeepJson = "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_001);
    private static readonly string DeepJsonArray = "{\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}";

    // The "billion laughs": nine levels of nine aliases each, a billion strings if a parser expanded them.
    private static readonly string YamlAliasBomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" +
        string.Concat(Enumerable.Range(1, 8).Select(i => $"{(char)('a' + i)}: &{(char)('a' + i)} [{string.Join(",", Enumerable.Repeat("*" + (char)('a' + i - 1), 9))}]\n"));

    public static IEnumerable<TestCaseData> BadJson() =>
    [
        new TestCaseData("{").SetName("JSON: truncated"),
        new TestCaseData("[]").SetName("JSON: an array, not an object"),
        new TestCaseData("{\"a\":1}").SetName("JSON: a number value"),
        new TestCaseData("{\"a\":null}").SetName("JSON: a null value"),
        new TestCaseData("{\"a\":{\"base64\":\"not base64!\"}}").SetName("JSON: invalid base64"),
        new TestCaseData("{\"a\":{\"base64\":\"AA==\",\"x\":1}}").SetName("JSON: base64 object with another member"),
        new TestCaseData("{\"a\":{\"$type\":\"System.IO.FileInfo, System.IO.FileSystem\",\"fileName\":\"/etc/passwd\"}}").SetName("JSON: a $type object"),
        new TestCaseData("{\"a\":\"1\"} {\"b\":\"2\"}").SetName("JSON: text after the object"),
        new TestCaseData(DeepJson).SetName("JSON: deeply nested objects"),
        new TestCaseData(DeepJsonArray).SetName("JSON: deeply nested arrays"),
    ];

    public static IEnumerable<TestCaseData> BadYaml() =>
    [
        new TestCaseData("a: [").SetName("YAML: truncated"),
        new TestCaseData(YamlAliasBomb).SetName("YAML: alias bomb"),
        new TestCaseData("a: &x one\nb: *x\n").SetName("YAML: an anchor and an alias"),
        new TestCaseData("a: !!python/object/apply:os.system [\"rm -rf /\"]\n").SetName("YAML: a type-creating tag"),
        new TestCaseData("a: !MyApp.Evil,MyApp {x: 1}\n").SetName("YAML: a local tag"),
        new TestCaseData("a: !!int 5\n").SetName("YAML: a non-string scalar tag"),
        new TestCaseData("a: !!binary not-base64!\n").SetName("YAML: invalid base64"),
        new TestCaseData("a:\n  b: c\n").SetName("YAML: a nested mapping"),
        new TestCaseData("a: [1, 2]\n").SetName("YAML: a sequence value"),
        new TestCaseData("[a, b]\n").SetName("YAML: a sequence, not a mapping"),
        new TestCaseData("? [a]\n: b\n").SetName("YAML: a sequence as key"),
        new TestCaseData("a: b\n---\nc: d\n").SetName("YAML: two documents"),
        new TestCaseData("").SetName("YAML: empty"),
    ];

    public static IEnumerable<TestCaseData> BadBinary() =>
    [
        new TestCaseData(Array.Empty<byte>()).SetName("Binary: empty"),
        new TestCaseData(new byte[] { 2, 0 }).SetName("Binary: unknown layout version"),
        new TestCaseData(new byte[] { 1 }).SetName("Binary: no item count"),
        new TestCaseData(new byte[] { 1, 0x80 }).SetName("Binary: truncated varint"),
        new TestCaseData(new byte[] { 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }).SetName("Binary: item count over int.MaxValue"),
        new TestCaseData(new byte[] { 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }).SetName("Binary: six-byte varint"),
        new TestCaseData(new byte[] { 1, 0xE8, 0x07, 0, 0 }).SetName("Binary: more items claimed than bytes"),
        new TestCaseData(new byte[] { 1, 1, 5, (byte)'a', 0 }).SetName("Binary: key longer than the payload"),
        new TestCaseData(new byte[] { 1, 1, 1, (byte)'a', 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }).SetName("Binary: value length far past the end"),
        new TestCaseData(new byte[] { 1, 1, 1, 0xFF, 0 }).SetName("Binary: key not UTF-8"),
        new TestCaseData(new byte[] { 1, 2, 1, (byte)'a', 0, 1, (byte)'a', 0 }).SetName("Binary: the same key twice"),
        new TestCaseData(new byte[] { 1, 1, 1, (byte)'a', 0, 9 }).SetName("Binary: bytes after the last item"),
    ];

    [TestCaseSource(nameof(BadJson))]
    public void Json_BadPayload_ThrowsFormatException(string payload) =>
        Assert.That(() => new JsonSessionSerializer().Deserialize(Encoding.UTF8.GetBytes(payload)), Throws.InstanceOf<FormatException>());

    [TestCaseSource(nameof(BadYaml))]
    public void Yaml_BadPayload_ThrowsFormatException(string payload) =>
        Assert.That(() => new YamlSessionSerializer().Deserialize(Encoding.UTF8.GetBytes(payload)), Throws.InstanceOf<FormatException>());

    [TestCaseSource(nameof(BadBinary))]
    public void Binary_BadPayload_ThrowsFormatException(byte[] payload) =>
        Assert.That(() => new BinarySessionSerializer().Deserialize(payload), Throws.InstanceOf<FormatException>());

    [TestCase("JSON", "deep")]
    [TestCase("JSON", "type")]
    [TestCase("YAML", "bomb")]
    [TestCase("YAML", "tag")]
    [TestCase("Binary", "truncated")]
    public async Task StoredSessionThatCannotBeDeserialized_GivesAFreshSession_LogsCorruptData_AndLeavesTheDataUntouched(string serializer, string damage)
    {
        var logs = new CapturingLoggerProvider();
        using var store = TestStore.Create(o => o.Serializer = serializer, s => s.AddLogging(b => b.AddProvider(logs)));
        var session = await store.SeedAsync(("user", "alice"));
        var key = store.StorageKeyOf(session.SessionKey);
        var stored = (await EtcdFixture.Client.GetAsync(key)).Kvs[0];
        var header = stored.Value.ToStringUtf8().Split('\n')[0];
        var payload = damage switch
        {
            "deep" => Encoding.UTF8.GetBytes(DeepJson),
            "type" => "{\"user\":{\"$type\":\"System.IO.FileInfo, System.IO.FileSystem\",\"fileName\":\"/etc/passwd\"}}"u8.ToArray(),
            "bomb" => Encoding.UTF8.GetBytes(YamlAliasBomb),
            "tag" => "user: !!python/object/apply:os.system id\n"u8.ToArray(),
            _ => [1, 1, 4, (byte)'u', (byte)'s'],
        };
        var damaged = ByteString.CopyFrom([.. Encoding.UTF8.GetBytes(header + "\n"), .. payload]);
        await EtcdFixture.Client.PutAsync(new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(key), Value = damaged, Lease = stored.Lease });

        var reopened = await store.OpenAsync(session.SessionKey);
        reopened.SetString("fresh", "yes");
        await reopened.CommitAsync();

        var warning = logs.Entries.Single(e => e.Level == LogLevel.Warning && e.EventId.Name == "SessionUnreadable");
        Assert.Multiple(async () =>
        {
            Assert.That(reopened.SessionKey, Is.Not.EqualTo(session.SessionKey));
            Assert.That(reopened.GetString("user"), Is.Null);
            Assert.That(warning.Thrown, Is.InstanceOf<EtcdSessionException>().With.Property(nameof(EtcdSessionException.Kind)).EqualTo(EtcdSessionErrorKind.CorruptData));
            Assert.That(warning.Thrown!.InnerException, Is.InstanceOf<FormatException>());
            Assert.That((await EtcdFixture.Client.GetAsync(key)).Kvs[0].Value, Is.EqualTo(damaged));
        });
    }

    [Test]
    public async Task StoredSessionWrittenByAnUnregisteredSerializer_IsCorruptData_AndLeftUntouched()
    {
        var logs = new CapturingLoggerProvider();
        using var store = TestStore.Create(services: s => s.AddLogging(b => b.AddProvider(logs)));
        var secret = "k-" + Guid.NewGuid();
        var value = "{\"v\":1,\"id\":\"x\",\"created\":0,\"idle\":60,\"abs\":null,\"ser\":\"Sereal\"}\n\u0001\u0000";
        await EtcdFixture.Client.PutAsync(store.StorageKeyOf(secret), value);

        var session = await store.OpenAsync(secret);

        Assert.Multiple(async () =>
        {
            Assert.That(session.IsStored, Is.False);
            Assert.That(session.SessionKey, Is.Not.EqualTo(secret));
            Assert.That(logs.Entries.Single(e => e.EventId.Name == "SessionUnreadable").Thrown!.Message, Does.Contain("'Sereal'").And.Contain("JSON, YAML, Binary"));
            Assert.That((await EtcdFixture.Client.GetAsync(store.StorageKeyOf(secret))).Kvs[0].Value.ToStringUtf8(), Is.EqualTo(value));
        });
    }
}
