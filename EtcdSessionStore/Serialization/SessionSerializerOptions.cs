namespace Etcd.AspNetCore.Session;

/// <summary>
/// The string-keyed options a serializer is given, from <see cref="EtcdSessionOptions.SerializeOptions"/> and
/// <see cref="EtcdSessionOptions.DeserializeOptions"/>. A serializer class named by type receives this object
/// when its constructor has a parameter of this type. Keys are case-insensitive; a serializer reads the keys
/// it knows and ignores the rest.
/// </summary>
public sealed class SessionSerializerOptions
{
    /// <summary>Copies the given options (either may be <see langword="null"/> for none).</summary>
    public SessionSerializerOptions(IEnumerable<KeyValuePair<string, string>>? serializeOptions, IEnumerable<KeyValuePair<string, string>>? deserializeOptions)
    {
        SerializeOptions = new Dictionary<string, string>(serializeOptions ?? [], StringComparer.OrdinalIgnoreCase);
        DeserializeOptions = new Dictionary<string, string>(deserializeOptions ?? [], StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Options for writing, e.g. <c>Indent</c>.</summary>
    public IReadOnlyDictionary<string, string> SerializeOptions { get; }

    /// <summary>Options for reading.</summary>
    public IReadOnlyDictionary<string, string> DeserializeOptions { get; }
}
