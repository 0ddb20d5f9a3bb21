using System.Globalization;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary><c>--name value</c> pairs from the command line, with typed defaults.</summary>
internal sealed class BenchArguments
{
    private readonly Dictionary<string, string> _values;

    private BenchArguments(Dictionary<string, string> values) => _values = values;

    public static BenchArguments Parse(IEnumerable<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? name = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                name = arg[2..];
                values[name] = "true";
            }
            else if (name is not null)
            {
                values[name] = arg;
                name = null;
            }
        }

        return new BenchArguments(values);
    }

    public string String(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;

    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The arguments whose names start with <paramref name="prefix"/> (e.g. <c>EtcdSession:</c>), with their full names.</summary>
    public IReadOnlyDictionary<string, string> WithPrefix(string prefix) =>
        _values.Where(p => p.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);

    public int[] Ints(string name, string fallback) =>
        String(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
