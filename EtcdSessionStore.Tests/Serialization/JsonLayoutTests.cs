using System.Text;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

/// <summary>The stored JSON layout, byte for byte: sessions written by earlier versions must read the same, and an operator reads it with etcdctl.</summary>
public sealed class JsonLayoutTests
{
    [Test]
    public void Output_IsTheDocumentedLayout_ByteForByte()
    {
        var items = new Dictionary<string, byte[]>
        {
            ["cart"] = "apples"u8.ToArray(),
            ["text"] = Encoding.UTF8.GetBytes("ünï \"q\" <b>&\n\t"),
            ["bytes"] = [0x00, 0xFF, 0x01],
            ["empty"] = [],
            ["ключ"] = "1"u8.ToArray(),
        };

        var json = Encoding.UTF8.GetString(new JsonSessionSerializer().Serialize(items));

        Assert.That(json, Is.EqualTo("""{"cart":"apples","text":"ünï \"q\" <b>&\n\t","bytes":{"base64":"AP8B"},"empty":"","ключ":"1"}"""));
    }

    [Test]
    public void IndentedOutput_PutsEachItemOnItsOwnLine_ByteForByte()
    {
        var serializer = new JsonSessionSerializer(new SessionSerializerOptions([new("Indent", "true")], null));
        var items = new Dictionary<string, byte[]> { ["cart"] = "apples"u8.ToArray(), ["bytes"] = [0xFF] };

        var json = Encoding.UTF8.GetString(serializer.Serialize(items));

        Assert.That(json.ReplaceLineEndings("\n"), Is.EqualTo("{\n  \"cart\": \"apples\",\n  \"bytes\": {\n    \"base64\": \"/w==\"\n  }\n}"));
    }
}
