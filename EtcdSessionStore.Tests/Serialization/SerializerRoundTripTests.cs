using System.Text;
using CsCheck;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

[TestFixtureSource(typeof(BuiltInSerializers), nameof(BuiltInSerializers.Names))]
public sealed class SerializerRoundTripTests(string name)
{
    // Text drawn mostly from ASCII, often from the characters that trip text formats up
    // (controls, quotes, YAML indicators, Unicode line breaks, a byte order mark), and from all of Unicode.
    private static readonly Gen<string> Codepoint = Gen.Frequency(
        (4, Gen.Int[0x20, 0x7E]),
        (2, Gen.OneOf(Gen.Int[0, 0x1F], Gen.OneOf<int>(0x7F, 0x85, 0xA0, 0x2028, 0x2029, 0xFEFF, '"', '\'', ':', '#', '-', '&', '*', '!', '|', '>', '{', '}', '[', ']', ',', '%', '@', '`', '\\'))),
        (2, Gen.Int[0, 0x10FFFF].Where(c => c is < 0xD800 or > 0xDFFF)))
        .Select(char.ConvertFromUtf32);

    private static readonly Gen<string> Text = Codepoint.Array[0, 40].Select(string.Concat);

    private static readonly Gen<byte[]> Value = Gen.Frequency(
        (8, Text.Select(Encoding.UTF8.GetBytes)),
        (6, Gen.Byte.Array[0, 64]),
        (2, Gen.OneOf<byte[]>(Array.Empty<byte>(), [0xFF], [0xC3], [0xEF, 0xBB, 0xBF], "null"u8.ToArray(), "true"u8.ToArray(), "~"u8.ToArray(), "{\"base64\":\"AA==\"}"u8.ToArray())),
        (1, Gen.Byte.Array[1_000, 20_000]));

    private static readonly Gen<Dictionary<string, byte[]>> Items = Gen.Dictionary(Text, Value)[0, 30];

    private readonly ISessionSerializer _serializer = BuiltInSerializers.Create(name);

    [Test]
    public void AnyItems_RoundTripExactly()
    {
        Items.Sample(items => AssertRoundTrip(items), iter: 300);
    }

    [Test]
    public void ManyKeys_RoundTripExactly()
    {
        var items = Enumerable.Range(0, 5_000).ToDictionary(i => $"key-{i}", i => i % 2 == 0 ? Encoding.UTF8.GetBytes($"value {i}") : BitConverter.GetBytes(i));

        AssertRoundTrip(items);
    }

    [Test]
    public void LargeValues_RoundTripExactly()
    {
        var random = new Random(7);
        var binary = new byte[600_000];
        random.NextBytes(binary);
        var items = new Dictionary<string, byte[]>
        {
            ["binary"] = binary,
            ["text"] = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("line with ünïcødé and a long tail \n", 10_000))),
            ["longKey" + new string('k', 1_000)] = [1, 2, 3],
        };

        AssertRoundTrip(items);
    }

    [Test]
    public void NoItems_RoundTrip()
    {
        AssertRoundTrip([]);
    }

    private void AssertRoundTrip(Dictionary<string, byte[]> items)
    {
        var read = _serializer.Deserialize(_serializer.Serialize(items));

        // Compared by key lookup: NUnit's collection equivalence is quadratic on thousands of items.
        // No Assert.Multiple: CsCheck samples on several threads, and assertion scopes are per test.
        var wrong = items.Where(i => !read.TryGetValue(i.Key, out var value) || !value.AsSpan().SequenceEqual(i.Value)).Select(i => i.Key);
        Assert.That(read, Has.Count.EqualTo(items.Count));
        Assert.That(wrong, Is.Empty, "items missing or changed");
    }
}
