namespace EtcdSessionStore.Demo;

/// <summary>The other instance: its base URL and the name the pages show for it.</summary>
internal sealed record PeerLink(Uri BaseUrl, string Name)
{
    /// <summary>The same page (path and query) on the other instance.</summary>
    public string UrlOf(HttpRequest request) => new Uri(BaseUrl, request.Path.ToUriComponent() + request.QueryString.ToUriComponent()).ToString();
}
