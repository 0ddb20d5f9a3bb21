using System.Net;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>Pre-made sessions for wrk: one per line of a cookie file, each made through the app's own <c>/seed</c> endpoint.</summary>
internal static class SessionSeeder
{
    public static async Task SeedAsync(Uri address, string cookieFile, int sessions, int concurrency)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = concurrency });
        var cookies = new string[sessions];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < sessions; i = Interlocked.Increment(ref next))
            {
                using var response = await http.GetAsync(new Uri(address, "seed"));
                response.EnsureSuccessStatusCode();
                var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.First() : null;
                cookies[i] = setCookie?.Split(';')[0] ?? throw new InvalidOperationException($"{address}seed set no cookie.");
            }
        }));
        await File.WriteAllLinesAsync(cookieFile, cookies);
        using var check = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "read"));
        check.Headers.Add("Cookie", cookies[0]);
        using var checkResponse = await http.SendAsync(check);
        var body = await checkResponse.Content.ReadAsStringAsync();
        if (checkResponse.StatusCode != HttpStatusCode.OK || !body.StartsWith("user-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{address}read did not see a seeded session: {(int)checkResponse.StatusCode} '{body}'.");
        }
    }
}
