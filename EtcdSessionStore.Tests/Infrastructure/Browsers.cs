using System.Net;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// The one place the tests make an HTTP browser: no automatic redirects (a test sees every 302) and 30 s per request,
/// for a loaded machine. <see cref="Open"/> keeps cookies as a browser does; <see cref="Bare"/> keeps none, for
/// <see cref="TestBrowser"/>, which keeps its own jar, and for clients that carry the session in a header.
/// </summary>
public static class Browsers
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A browser over real HTTP with its own cookie jar, or <paramref name="cookies"/> when given (one browser that
    /// talks to several instances of one app), addressed to <paramref name="baseAddress"/> when given.
    /// </summary>
    public static HttpClient Open(string? baseAddress = null, CookieContainer? cookies = null, string? userAgent = null)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            Timeout = RequestTimeout,
        };
        if (baseAddress is not null)
        {
            client.BaseAddress = new Uri(baseAddress);
        }

        if (userAgent is not null)
        {
            client.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        }

        return client;
    }

    /// <summary>A client over real HTTP that keeps no cookies, addressed to <paramref name="baseAddress"/> when given.</summary>
    public static HttpClient Bare(string? baseAddress = null) =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress is null ? null : new Uri(baseAddress),
            Timeout = RequestTimeout,
        };
}
