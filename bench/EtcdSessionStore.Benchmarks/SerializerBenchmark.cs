using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session.Benchmarks;

/// <summary>
/// How long does each built-in serializer take, and how much does it allocate, to write and to read a
/// session's items? Sessions of about 1 KB and 64 KB: three quarters text values (as SetString makes them),
/// one quarter binary values. The serializers are compiled from the library's own source files (see the project file).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class SerializerBenchmark
{
    private static readonly ISessionSerializer Json = new JsonSessionSerializer();
    private static readonly ISessionSerializer Yaml = new YamlSessionSerializer();
    private static readonly ISessionSerializer Binary = new BinarySessionSerializer();

    private readonly ArrayBufferWriter<byte> _output = new(128 * 1024);
    private Dictionary<string, byte[]> _items = [];
    private byte[] _json = [];
    private byte[] _yaml = [];
    private byte[] _binary = [];

    /// <summary>The approximate size of the session's items, in bytes.</summary>
    [Params(1024, 65536)]
    public int SessionBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _items = MakeItems(SessionBytes);
        _json = Write(Json);
        _yaml = Write(Yaml);
        _binary = Write(Binary);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Serialize")]
    public int SerializeJson() => Write(Json).Length;

    [Benchmark, BenchmarkCategory("Serialize")]
    public int SerializeYaml() => Write(Yaml).Length;

    [Benchmark, BenchmarkCategory("Serialize")]
    public int SerializeBinary() => Write(Binary).Length;

    [Benchmark(Baseline = true), BenchmarkCategory("Deserialize")]
    public int DeserializeJson() => Json.Deserialize(_json).Count;

    [Benchmark, BenchmarkCategory("Deserialize")]
    public int DeserializeYaml() => Yaml.Deserialize(_yaml).Count;

    [Benchmark, BenchmarkCategory("Deserialize")]
    public int DeserializeBinary() => Binary.Deserialize(_binary).Count;

    private byte[] Write(ISessionSerializer serializer)
    {
        _output.ResetWrittenCount();
        serializer.Serialize(_items, _output);
        return _output.WrittenSpan.ToArray();
    }

    // Deterministic content: text items of 48 characters, one binary item of 128 bytes for every three text items.
    private static Dictionary<string, byte[]> MakeItems(int bytes)
    {
        var random = new Random(42);
        var items = new Dictionary<string, byte[]>();
        var total = 0;
        for (var i = 0; total < bytes; i++)
        {
            byte[] value;
            if (i % 4 == 3)
            {
                value = new byte[128];
                random.NextBytes(value);
                value[0] = 0xFF; // never valid UTF-8: stored as binary by the text formats
            }
            else
            {
                var text = new StringBuilder();
                while (text.Length < 48)
                {
                    text.Append((char)random.Next('a', 'z' + 1));
                    if (random.Next(6) == 0)
                    {
                        text.Append(' ');
                    }
                }

                value = Encoding.UTF8.GetBytes(text.ToString());
            }

            var key = $"item:{i}";
            items[key] = value;
            total += key.Length + value.Length;
        }

        return items;
    }
}
