namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>Reads typed values out of the string-keyed serializer options, with messages that name the setting.</summary>
internal static class SerializerOptionValues
{
    public static readonly string SerializeSection = EtcdSessionDefaults.ConfigurationSection + ":SerializeOptions";

    /// <summary>The boolean option <paramref name="name"/>, or <paramref name="defaultValue"/> when it is absent.</summary>
    /// <exception cref="ArgumentException">The option is present but is not <c>true</c> or <c>false</c>.</exception>
    public static bool GetBoolean(IReadOnlyDictionary<string, string> options, string section, string name, bool defaultValue)
    {
        if (!options.TryGetValue(name, out var text) || string.IsNullOrWhiteSpace(text))
        {
            return defaultValue;
        }

        return bool.TryParse(text.Trim(), out var value)
            ? value
            : throw new ArgumentException($"{section}:{name} '{text}' is invalid: expected 'true' or 'false'.");
    }
}
