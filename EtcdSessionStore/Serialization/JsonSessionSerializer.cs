using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>
/// The default serializer: one JSON object, readable with <c>etcdctl get</c>. A value that is valid UTF-8
/// is stored as a JSON string; any other value as <c>{"base64":"..."}</c>. Uses System.Text.Json's
/// <see cref="Utf8JsonWriter"/> and <see cref="Utf8JsonReader"/> directly: no types are ever created from
/// the data, and nesting is capped. Text is written unescaped where JSON allows it, so that it stays
/// readable (the stored JSON is never embedded in HTML).
/// Serialize option <c>Indent</c> (<c>true</c>/<c>false</c>, default <c>false</c>) puts each item on its own line.
/// </summary>
internal sealed class JsonSessionSerializer : ISessionSerializer
{
    public const string SerializerName = "JSON";
    private const string Base64Property = "base64";
    private const int MaxDepth = 8;
    private readonly JsonWriterOptions _writerOptions;

    public JsonSessionSerializer()
        : this(new SessionSerializerOptions(null, null))
    {
    }

    public JsonSessionSerializer(SessionSerializerOptions options)
    {
        var indent = SerializerOptionValues.GetBoolean(options.SerializeOptions, SerializerOptionValues.SerializeSection, "Indent", defaultValue: false);
        _writerOptions = new JsonWriterOptions { Indented = indent, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    }

    public string Name => SerializerName;

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output, _writerOptions);
        json.WriteStartObject();
        foreach (var (key, value) in items)
        {
            if (Utf8.IsValid(value))
            {
                json.WriteString(key, value);
            }
            else
            {
                json.WriteStartObject(key);
                json.WriteBase64String(Base64Property, value);
                json.WriteEndObject();
            }
        }

        json.WriteEndObject();
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload)
    {
        var items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            var json = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
            Expect(json.Read() && json.TokenType == JsonTokenType.StartObject, "a JSON object");
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var key = json.GetString()!;
                Expect(json.Read(), "a value");
                items[key] = json.TokenType switch
                {
                    JsonTokenType.String => Encoding.UTF8.GetBytes(json.GetString()!),
                    JsonTokenType.StartObject => ReadBase64(ref json),
                    _ => throw new FormatException($"Session item '{key}' is a JSON {json.TokenType}, not a string or a base64 object."),
                };
            }

            Expect(json.TokenType == JsonTokenType.EndObject, "the end of the object");
            Expect(!json.Read(), "nothing after the object");
            return items;
        }
        catch (JsonException ex)
        {
            throw new FormatException("The session payload is not valid JSON: " + ex.Message, ex);
        }
    }

    private static byte[] ReadBase64(ref Utf8JsonReader json)
    {
        Expect(json.Read() && json.TokenType == JsonTokenType.PropertyName && json.ValueTextEquals(Base64Property), "a \"base64\" property");
        byte[]? bytes = null;
        Expect(json.Read() && json.TokenType == JsonTokenType.String && json.TryGetBytesFromBase64(out bytes), "a base64 string");
        Expect(json.Read() && json.TokenType == JsonTokenType.EndObject, "the end of the base64 object");
        return bytes!;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new FormatException($"The session payload is not in the JSON layout: expected {what}.");
        }
    }
}
