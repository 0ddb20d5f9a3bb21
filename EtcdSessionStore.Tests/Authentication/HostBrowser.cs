using Etcd.AspNetCore.Session.Tests.Infrastructure;
using System.Net;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

/// <summary>
/// A browser that visits every instance of an app on 127.0.0.1: one cookie jar for the host, whatever the port, as
/// browsers keep cookies.
/// </summary>
public sealed class HostBrowser : IDisposable
{
    private static readonly Uri Host = new("http://127.0.0.1/");
    private readonly HttpClient _http = Browsers.Bare();

    public CookieContainer Cookies { get; } = new();

    public string? Cookie(string name) => Cookies.GetCookies(Host)[name]?.Value;

    /// <summary>Sends a request carrying the jar's cookies (or only <paramref name="cookies"/>, when given) and keeps what it sets.</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string url, string? cookies = null)
    {
        using var request = new HttpRequestMessage(method, url);
        var header = cookies ?? Cookies.GetCookieHeader(Host);
        if (header.Length > 0)
        {
            request.Headers.Add("Cookie", header);
        }

        using var response = await _http.SendAsync(request);
        if (cookies is null && response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                Cookies.SetCookies(Host, setCookie);
            }
        }

        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public void Dispose() => _http.Dispose();
}
