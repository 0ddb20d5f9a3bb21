using System.Buffers;
using System.Text;
using System.Text.Unicode;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>
/// A YAML mapping, readable with <c>etcdctl get</c>: a value that is valid UTF-8 is a string scalar, any
/// other value a <c>!!binary</c> scalar (base64), e.g.
/// <code>
/// cart: apples
/// bytes: !!binary AP8B
/// </code>
/// Works on YamlDotNet's parser and emitter events, never its object deserializer: the only tag it honours
/// is <c>!!binary</c> (plus <c>!!str</c>), nothing is ever created from a tag, and anchors and aliases are
/// refused outright, so an alias bomb fails on its first anchor. The layout is one flat mapping of scalars,
/// which bounds nesting. Serialize option <c>Flow</c> (<c>true</c>/<c>false</c>, default <c>false</c>)
/// writes the mapping on one line, <c>{cart: apples, bytes: !!binary AP8B}</c>.
/// </summary>
internal sealed class YamlSessionSerializer : ISessionSerializer
{
    public const string SerializerName = "YAML";
    private const string BinaryTag = "tag:yaml.org,2002:binary";
    private const string StringTag = "tag:yaml.org,2002:str";
    private readonly MappingStyle _style;

    public YamlSessionSerializer()
        : this(new SessionSerializerOptions(null, null))
    {
    }

    public YamlSessionSerializer(SessionSerializerOptions options)
    {
        var flow = SerializerOptionValues.GetBoolean(options.SerializeOptions, SerializerOptionValues.SerializeSection, "Flow", defaultValue: false);
        _style = flow ? MappingStyle.Flow : MappingStyle.Block;
    }

    public string Name => SerializerName;

    public void Serialize(IReadOnlyDictionary<string, byte[]> items, IBufferWriter<byte> output)
    {
        using var text = new StringWriter();

        // No line folding: long values stay on one line, as an operator expects.
        var emitter = new Emitter(text, 2, int.MaxValue);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, isImplicit: true, _style));
        foreach (var (key, value) in items)
        {
            emitter.Emit(Text(key));
            emitter.Emit(Utf8.IsValid(value)
                ? Text(Encoding.UTF8.GetString(value))
                : new Scalar(AnchorName.Empty, new TagName(BinaryTag), Convert.ToBase64String(value), ScalarStyle.Plain, isPlainImplicit: false, isQuotedImplicit: false));
        }

        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        Encoding.UTF8.GetBytes(text.ToString(), output);
    }

    public Dictionary<string, byte[]> Deserialize(ReadOnlySpan<byte> payload)
    {
        var items = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            var parser = new Parser(new StringReader(Encoding.UTF8.GetString(payload)));
            Expect<StreamStart>(parser);
            Expect<DocumentStart>(parser);
            Expect<MappingStart>(parser);
            ParsingEvent next;
            while ((next = Next(parser)) is Scalar key)
            {
                if (!IsString(key))
                {
                    throw new FormatException($"A session item key has the YAML tag '{key.Tag}'; keys are strings.");
                }

                items[key.Value] = Next(parser) switch
                {
                    Scalar value when IsString(value) => Encoding.UTF8.GetBytes(value.Value),
                    Scalar { Tag.Value: BinaryTag } value => Convert.FromBase64String(value.Value),
                    Scalar value => throw new FormatException($"Session item '{key.Value}' has the YAML tag '{value.Tag}'; only strings and !!binary are read."),
                    var other => throw new FormatException($"Session item '{key.Value}' is a YAML {other.GetType().Name}, not a scalar."),
                };
            }

            if (next is not MappingEnd)
            {
                throw new FormatException($"The session payload is not in the YAML layout: a session item key is a {next.GetType().Name}.");
            }

            Expect<DocumentEnd>(parser);
            Expect<StreamEnd>(parser);
            return items;
        }
        catch (YamlException ex)
        {
            throw new FormatException("The session payload is not valid YAML: " + ex.Message, ex);
        }
    }

    private static Scalar Text(string value) =>
        new(AnchorName.Empty, TagName.Empty, value, NeedsQuotes(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any, isPlainImplicit: true, isQuotedImplicit: true);

    // Control characters, Unicode line breaks and a byte order mark survive only inside double quotes,
    // where they are escaped; anything else may take whatever style the emitter finds most readable.
    private static bool NeedsQuotes(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' or '\uFEFF')
            {
                return true;
            }
        }

        return value.Length > 0 && (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]));
    }

    private static bool IsString(Scalar scalar) => scalar.Tag.IsEmpty || scalar.Tag.IsNonSpecific || scalar.Tag.Value == StringTag;

    // Every event passes through here: this is where anchors and aliases are refused.
    private static ParsingEvent Next(Parser parser)
    {
        if (!parser.MoveNext())
        {
            throw new FormatException("The session payload ends early.");
        }

        var current = parser.Current!;
        if (current is AnchorAlias || current is NodeEvent { Anchor.IsEmpty: false })
        {
            throw new FormatException("The session payload uses YAML anchors or aliases, which the session layout never contains.");
        }

        return current;
    }

    private static void Expect<T>(Parser parser)
        where T : ParsingEvent
    {
        var next = Next(parser);
        if (next is not T)
        {
            throw new FormatException($"The session payload is not in the YAML layout: expected {typeof(T).Name}, found {next.GetType().Name}.");
        }
    }
}
