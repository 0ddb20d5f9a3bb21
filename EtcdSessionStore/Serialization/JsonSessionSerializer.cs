using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Newtonsoft.Json;

namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>
/// The default serializer: one JSON object, readable with <c>etcdctl get</c>. A value that is valid UTF-8
/// is stored as a JSON string; any other value as <c>{"base64":"..."}</c>. Uses Newtonsoft.Json's
/// reader and writer directly: no type names are ever read, and nesting is capped.
/// Serialize option <c>Indent</c> (<c>true</c>/<c>false</c>, default <c>false</c>) puts each item on its own line.
/// </summary>
internal sealed class JsonSessionSerializer : ISessionSerializer
{
    public const string SerializerName = "JSON";
    private const string Base64Property = "base64";
    private const int MaxDepth = 8;
    private readonly Formatting _formatting;

    public JsonSessionSerializer()
        : this(new SessionSerializerOptions(null, null))
    {
    }

    public JsonSessionSerializer(SessionSerializerOptions options)
    {
        var indent = SerializerOptionValues.GetBoolean(options.SerializeOptions, SerializerOptionValues.SerializeSection, "Indent", defaultValue: false);
        _formatting = indent ? Formatting.Indented : Formatting.None;
    }

    public string Name => SerializerName;

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        using var text = new StringWriter();
        using (var json = new JsonTextWriter(text) { Formatting = _formatting })
        {
            json.WriteStartObject();
            foreach (var (key, value) in items)
            {
                json.WritePropertyName(key);
                if (Utf8.IsValid(value))
                {
                    json.WriteValue(Encoding.UTF8.GetString(value));
                }
                else
                {
                    json.WriteStartObject();
                    json.WritePropertyName(Base64Property);
                    json.WriteValue(Convert.ToBase64String(value));
                    json.WriteEndObject();
                }
            }

            json.WriteEndObject();
        }

        Encoding.UTF8.GetBytes(text.ToString(), output);
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload)
    {
        var items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var json = new JsonTextReader(new StringReader(Encoding.UTF8.GetString(payload)))
            {
                MaxDepth = MaxDepth,
                DateParseHandling = DateParseHandling.None,
            };
            Expect(json.Read() && json.TokenType == JsonToken.StartObject, "a JSON object");
            while (json.Read() && json.TokenType == JsonToken.PropertyName)
            {
                var key = (string)json.Value!;
                Expect(json.Read(), "a value");
                items[key] = json.TokenType switch
                {
                    JsonToken.String => Encoding.UTF8.GetBytes((string)json.Value!),
                    JsonToken.StartObject => ReadBase64(json),
                    _ => throw new FormatException($"Session item '{key}' is a JSON {json.TokenType}, not a string or a base64 object."),
                };
            }

            Expect(json.TokenType == JsonToken.EndObject, "the end of the object");
            Expect(!json.Read(), "nothing after the object");
            return items;
        }
        catch (JsonException ex)
        {
            throw new FormatException("The session payload is not valid JSON: " + ex.Message, ex);
        }
    }

    private static byte[] ReadBase64(JsonTextReader json)
    {
        Expect(json.Read() && json.TokenType == JsonToken.PropertyName && (string)json.Value! == Base64Property, "a \"base64\" property");
        Expect(json.Read() && json.TokenType == JsonToken.String, "a base64 string");
        var bytes = Convert.FromBase64String((string)json.Value!);
        Expect(json.Read() && json.TokenType == JsonToken.EndObject, "the end of the base64 object");
        return bytes;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new FormatException($"The session payload is not in the JSON layout: expected {what}.");
        }
    }
}
