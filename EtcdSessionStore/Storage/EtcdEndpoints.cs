namespace Etcd.AspNetCore.Session.Storage;

/// <summary>Parses <see cref="EtcdSessionOptions.Endpoints"/>: a comma-separated list of <c>http(s)://host:port</c>.</summary>
internal static class EtcdEndpoints
{
    /// <summary>The endpoints, or an error message that says what is wrong.</summary>
    public static bool TryParse(string? endpoints, out IReadOnlyList<Uri> uris, out string? error)
    {
        var list = new List<Uri>();
        uris = list;
        error = null;
        if (string.IsNullOrWhiteSpace(endpoints))
        {
            error = "it is empty";
            return false;
        }

        foreach (var part in endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                error = $"'{part}' is not an http:// or https:// URL";
                return false;
            }

            // dotnet-etcd silently uses port 80 when none is written: insist on an explicit port.
            var authority = part[(part.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
            if (uri.IsDefaultPort && !authority.EndsWith($":{uri.Port}", StringComparison.Ordinal))
            {
                error = $"'{part}' has no port (etcd's client port is usually 2379)";
                return false;
            }

            if (uri.AbsolutePath != "/")
            {
                error = $"'{part}' has a path; give scheme, host and port only";
                return false;
            }

            list.Add(uri);
        }

        if (list.Count == 0)
        {
            error = "it lists no endpoint";
            return false;
        }

        if (list.Select(u => u.Scheme).Distinct().Count() > 1)
        {
            error = "it mixes http:// and https:// endpoints";
            return false;
        }

        return true;
    }

    /// <summary>The connection string dotnet-etcd expects: host:port pairs with their scheme, comma-separated.</summary>
    public static string ToConnectionString(IEnumerable<Uri> uris) =>
        string.Join(',', uris.Select(u => $"{u.Scheme}://{u.Host}:{u.Port}"));
}
