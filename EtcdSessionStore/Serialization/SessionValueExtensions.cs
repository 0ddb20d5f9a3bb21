using System.Text;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Typed session values. A value is stored as JSON text (Newtonsoft.Json), whichever serializer stores the
/// session: it stays readable with <c>etcdctl get</c> under <c>JSON</c> and <c>YAML</c>, and switching
/// serializers never changes how values read. No type information is written or read (type-name handling
/// off, <c>$type</c> ignored), and nesting is capped at 32 levels.
/// </summary>
public static class SessionValueExtensions
{
    private static readonly JsonSerializer Json = JsonSerializer.Create(new JsonSerializerSettings
    {
        TypeNameHandling = TypeNameHandling.None,
        MetadataPropertyHandling = MetadataPropertyHandling.Ignore,
        DateParseHandling = DateParseHandling.None,
        MaxDepth = 32,
    });

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> as JSON.</summary>
    public static void Set<T>(this ISession session, string key, T value)
    {
        ArgumentNullException.ThrowIfNull(session);
        using var text = new StringWriter();
        Json.Serialize(text, value, typeof(T));
        session.Set(key, Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>The value stored under <paramref name="key"/> by <see cref="Set{T}"/>, or <see langword="default"/> if there is none.</summary>
    /// <exception cref="FormatException">The stored value is not JSON for a <typeparamref name="T"/>.</exception>
    public static T? Get<T>(this ISession session, string key)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!session.TryGetValue(key, out var bytes))
        {
            return default;
        }

        try
        {
            using var json = new JsonTextReader(new StringReader(Encoding.UTF8.GetString(bytes)));
            var value = Json.Deserialize<T>(json);
            if (json.Read())
            {
                throw new JsonReaderException("Additional text after the value.");
            }

            return value;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Session item '{key}' is not JSON for a {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
