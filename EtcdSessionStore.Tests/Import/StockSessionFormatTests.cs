using Etcd.AspNetCore.Session.Import;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Import;

/// <summary>The stock format as ASP.NET Core's own <see cref="DistributedSession"/> writes it.</summary>
public sealed class StockSessionFormatTests
{
    [Test]
    public async Task Decode_ReadsWhatTheStockSessionWrote()
    {
        var items = new Dictionary<string, byte[]>
        {
            ["cart"] = "apple;pear;"u8.ToArray(),
            ["empty"] = [],
            ["Grüße ✓"] = [0, 255, 1],
            [new string('k', 1024)] = new byte[70_000],
        };
        var written = await WriteAsStockAsync(items);

        var decoded = StockSessionFormat.Decode(written);

        Assert.That(decoded, Is.EquivalentTo(items));
    }

    [Test]
    public async Task Decode_RefusesWhatTheStockFormatIsNot()
    {
        var written = await WriteAsStockAsync(new Dictionary<string, byte[]> { ["cart"] = "apple;"u8.ToArray() });
        byte[] otherRevision = [1, .. written[1..]];

        Assert.Multiple(() =>
        {
            Assert.That(() => StockSessionFormat.Decode(written[..^1]), Throws.TypeOf<FormatException>().With.Message.Contains("ends inside entry 0"));
            Assert.That(() => StockSessionFormat.Decode([.. written, 0]), Throws.TypeOf<FormatException>().With.Message.Contains("follow"));
            Assert.That(() => StockSessionFormat.Decode(otherRevision), Throws.TypeOf<FormatException>().With.Message.Contains("revision"));
            Assert.That(() => StockSessionFormat.Decode(written[..10]), Throws.TypeOf<FormatException>().With.Message.Contains("header"));
            Assert.That(() => StockSessionFormat.Decode("{\"cart\":\"apple\"}"u8), Throws.TypeOf<FormatException>());
        });
    }

    [Test]
    public async Task Decode_RefusesAKeyThisStoreCannotKeep()
    {
        var written = await WriteAsStockAsync(new Dictionary<string, byte[]> { [new string('k', 1025)] = [1] });

        Assert.That(() => StockSessionFormat.Decode(written), Throws.TypeOf<FormatException>().With.Message.Contains("1025-byte key"));
    }

    private static async Task<byte[]> WriteAsStockAsync(Dictionary<string, byte[]> items)
    {
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        var session = new DistributedSession(cache, "382c74c3-721d-4f34-80e5-57657b6cbc27", TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(1),
            () => true, NullLoggerFactory.Instance, isNewSessionKey: true);
        foreach (var (key, value) in items)
        {
            session.Set(key, value);
        }

        await session.CommitAsync();
        return (await cache.GetAsync("382c74c3-721d-4f34-80e5-57657b6cbc27"))!;
    }
}
