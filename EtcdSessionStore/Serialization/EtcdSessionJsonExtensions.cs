using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Typed session values, named for their format (<c>SetJson</c>/<c>GetJson</c>, beside <c>SetString</c>/<c>GetInt32</c>)
/// so that they never collide with the <c>Set&lt;T&gt;</c>/<c>Get&lt;T&gt;</c> helpers the ASP.NET Core docs tell apps
/// to write. A value is stored as JSON text (System.Text.Json), whichever serializer stores the session: it stays readable with <c>etcdctl get</c> under <c>JSON</c> and <c>YAML</c>, and switching
/// serializers never changes how values read. No type information is written or read (there is no type-name
/// handling; a <c>$type</c> member is an ordinary member), property names match case-insensitively, public
/// fields count as well as properties, and nesting is capped at 32 levels.
/// The overloads without a <see cref="JsonTypeInfo{T}"/> use reflection; a trimmed or native AOT app passes the
/// metadata from its own <c>JsonSerializerContext</c> instead, declared with
/// <c>[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, IncludeFields = true, MaxDepth = 32)]</c> to
/// store and read exactly the same JSON (docs/aot.md).
/// </summary>
public static class EtcdSessionJsonExtensions
{
    private const string ReflectionMessage =
        "Serializes T with reflection. In a trimmed or native AOT app use the overload that takes a JsonTypeInfo<T> from a JsonSerializerContext.";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        IncludeFields = true,
        MaxDepth = 32,
    };

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> as JSON.</summary>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public static void SetJson<T>(this ISession session, string key, T value)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Set(key, JsonSerializer.SerializeToUtf8Bytes(value, Json));
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> as JSON, described by <paramref name="jsonTypeInfo"/> (source-generated metadata; no reflection).</summary>
    public static void SetJson<T>(this ISession session, string key, T value, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        session.Set(key, JsonSerializer.SerializeToUtf8Bytes(value, jsonTypeInfo));
    }

    /// <summary>The value stored under <paramref name="key"/> by <see cref="SetJson{T}(ISession, string, T)"/>, or <see langword="default"/> if there is none.</summary>
    /// <exception cref="FormatException">The stored value is not JSON for a <typeparamref name="T"/>.</exception>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public static T? GetJson<T>(this ISession session, string key)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Read(session, key, static bytes => JsonSerializer.Deserialize<T>(bytes, Json));
    }

    /// <summary>The value stored under <paramref name="key"/> as JSON, read with <paramref name="jsonTypeInfo"/> (source-generated metadata; no reflection), or <see langword="default"/> if there is none.</summary>
    /// <exception cref="FormatException">The stored value is not JSON for a <typeparamref name="T"/>.</exception>
    public static T? GetJson<T>(this ISession session, string key, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return Read(session, key, bytes => JsonSerializer.Deserialize(bytes, jsonTypeInfo));
    }

    private static T? Read<T>(ISession session, string key, Func<byte[], T?> deserialize)
    {
        if (!session.TryGetValue(key, out var bytes))
        {
            return default;
        }

        try
        {
            return deserialize(bytes);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Session item '{key}' is not JSON for a {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
