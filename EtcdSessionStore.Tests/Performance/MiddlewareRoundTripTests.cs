using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Etcd.AspNetCore.Session.Tests.Performance;

/// <summary>
/// etcd calls per HTTP request through <c>UseEtcdSession</c> on TestServer (load, endpoint, commit, cookie),
/// counted on the wire. The clock is frozen: every write lands on one expiry second.
/// </summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class MiddlewareRoundTripTests : IAsyncDisposable
{
    private readonly CountingInterceptor _counter = new();
    private WebApplication? _app;

    [Test]
    public async Task RequestWithoutACookie_MakesNoEtcdCall()
    {
        var client = await StartAsync();

        using var response = await client.GetAsync(new Uri("/read", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(response.IsSuccessStatusCode, Is.True);
            Assert.That(_counter.Calls, Is.Empty);
        });
    }

    [Test]
    public async Task ReadOnlyRequest_MakesExactlyOneRange()
    {
        var client = await StartAsync();
        var cookie = await SeedAsync(client);
        _counter.Reset();

        var body = await SendAsync(client, HttpMethod.Get, "/read", cookie);

        Assert.Multiple(() =>
        {
            Assert.That(body, Is.EqualTo("ada:apples"));
            Assert.That(_counter.Calls, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1 }));
        });
    }

    [Test]
    public async Task RequestThatChangesTheSession_MakesOneRangeAndOneTxn()
    {
        var client = await StartAsync();
        var cookie = await SeedAsync(client);
        _counter.Reset();

        await SendAsync(client, HttpMethod.Post, "/write", cookie);

        Assert.That(_counter.Calls, Is.EquivalentTo(new Dictionary<string, int> { ["Range"] = 1, ["Txn"] = 1 }));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private async Task<HttpClient> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = EtcdFixture.Endpoints;
            o.KeyPrefix = EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test");
        });
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow));
        CountingTestStore.UseCountingClient(builder.Services, _counter);
        _app = builder.Build();
        _app.UseEtcdSession();
        _app.MapGet("/seed", (HttpContext context) =>
        {
            context.Session.SetString("user", "ada");
            context.Session.SetString("cart", "apples");
        });
        _app.MapGet("/read", (HttpContext context) => $"{context.Session.GetString("user")}:{context.Session.GetString("cart")}");
        _app.MapPost("/write", (HttpContext context) => context.Session.SetString("cart", "apples, pears"));
        await _app.StartAsync();
        return _app.GetTestClient();
    }

    private static async Task<string> SeedAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/seed", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("Set-Cookie").First().Split(';')[0];
    }

    private static async Task<string> SendAsync(HttpClient client, HttpMethod method, string path, string cookie)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }
}
