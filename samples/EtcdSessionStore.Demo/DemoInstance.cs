namespace EtcdSessionStore.Demo;

/// <summary>
/// Which instance of the shop this is, and where the other one is, for the pages to say. Read from configuration
/// on every use, so a host that learns its peer only after both started (tests on free ports) can still set it:
/// <c>Demo:InstanceName</c> (default: the port the request came in on, e.g. <c>:5000</c>) and <c>Demo:PeerUrl</c>
/// (e.g. <c>http://127.0.0.1:5001</c>; without it the pages link nowhere).
/// </summary>
internal sealed class DemoInstance(IConfiguration configuration)
{
    public const string InstanceNameKey = "Demo:InstanceName";
    public const string PeerUrlKey = "Demo:PeerUrl";

    /// <summary>The name the pages show for the instance that serves <paramref name="context"/>.</summary>
    public string NameOf(HttpContext context) =>
        configuration[InstanceNameKey] is { Length: > 0 } name ? name : ":" + context.Connection.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The other instance, or <see langword="null"/> when none is configured or the setting is not an absolute http(s) URL.</summary>
    public PeerLink? Peer =>
        Uri.TryCreate(configuration[PeerUrlKey], UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? new PeerLink(url, url.IsLoopback ? ":" + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : url.Authority)
            : null;
}
