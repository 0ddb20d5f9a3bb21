using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Typed session values, named for their format (<c>SetJson</c>/<c>GetJson</c>, beside <c>SetString</c>/<c>GetInt32</c>)
/// so that they never collide with the <c>Set&lt;T&gt;</c>/<c>Get&lt;T&gt;</c> helpers the ASP.NET Core docs tell apps
/// to write. A value is stored as JSON text (System.Text.Json), whichever serializer stores the session: it stays readable with <c>etcdctl get</c> under <c>JSON</c> and <c>YAML</c>, and switching
/// serializers never changes how values read. No type information is written or read (there is no type-name
/// handling; a <c>$type</c> member is an ordinary member), property names match case-insensitively, public
/// fields count as well as properties, and nesting is capped at 32 levels.
/// </summary>
public static class EtcdSessionJsonExtensions
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        IncludeFields = true,
        MaxDepth = 32,
    };

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> as JSON.</summary>
    public static void SetJson<T>(this ISession session, string key, T value)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Set(key, JsonSerializer.SerializeToUtf8Bytes(value, Json));
    }

    /// <summary>The value stored under <paramref name="key"/> by <see cref="SetJson{T}"/>, or <see langword="default"/> if there is none.</summary>
    /// <exception cref="FormatException">The stored value is not JSON for a <typeparamref name="T"/>.</exception>
    public static T? GetJson<T>(this ISession session, string key)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!session.TryGetValue(key, out var bytes))
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes, Json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Session item '{key}' is not JSON for a {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
