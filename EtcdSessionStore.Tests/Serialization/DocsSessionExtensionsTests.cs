using System.Net.Http.Json;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

/// <summary>
/// An app that keeps the ASP.NET Core docs' own <c>Set&lt;T&gt;</c>/<c>Get&lt;T&gt;</c> helpers and imports
/// <c>Etcd.AspNetCore.Session</c> (samples/EtcdSessionStore.DocsSessionExtensions) compiles (it builds with the
/// solution and this project references it) and works on the etcd store.
/// </summary>
public sealed class DocsSessionExtensionsTests
{
    [Test]
    public async Task TheDocsHelpers_BesideTheStoresApi_KeepTheCartInEtcd_ReadableWithGetJson()
    {
        await using var app = await EndpointTestApp.StartAsync(routes =>
        {
            routes.MapDocsCart();
            routes.MapGet("/cart/json", (HttpContext context) => context.Session.GetJson<List<string>>(DocsCart.Key));
        });
        using var browser = app.NewBrowser();

        (await browser.PostAsync("/cart", new FormUrlEncodedContent([new("item", "apples")]))).EnsureSuccessStatusCode();
        (await browser.PostAsync("/cart", new FormUrlEncodedContent([new("item", "pears")]))).EnsureSuccessStatusCode();
        var cart = await browser.GetFromJsonAsync<CartView>("/cart");
        var asJson = await browser.GetFromJsonAsync<List<string>>("/cart/json");

        Assert.Multiple(() =>
        {
            Assert.That(cart!.Items, Is.EqualTo(new[] { "apples", "pears" }));
            Assert.That(cart.SessionId, Is.Not.Empty);
            Assert.That(asJson, Is.EqualTo(new[] { "apples", "pears" }), "GetJson reads what the docs' Set<T> stored");
        });
    }

    private sealed record CartView(string SessionId, List<string> Items);
}
