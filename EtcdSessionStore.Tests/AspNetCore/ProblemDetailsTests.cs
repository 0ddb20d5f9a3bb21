using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The store's error answers go through the app's own <c>IProblemDetailsService</c> when it registered one.</summary>
public sealed class ProblemDetailsTests
{
    [Test]
    public async Task AFailedCommit_IsAnsweredThroughTheAppsProblemDetailsService_WithItsCustomisation()
    {
        await using var app = await EndpointTestApp.StartAsync(
            routes => routes.MapPost("/set", (HttpContext c) => { c.Session.SetString("a", "1"); return "ok"; }),
            services: s => s.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["shop"] = "customised"));
        using var browser = app.NewBrowser();
        app.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/set", null);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Contain("\"shop\":\"customised\"").And.Contain("not saved"));
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        });
    }

    [Test]
    public async Task WithoutAProblemDetailsService_TheAnswerIsStillProblemDetails()
    {
        await using var app = await EndpointTestApp.StartAsync(
            routes => routes.MapPost("/set", (HttpContext c) => { c.Session.SetString("a", "1"); return "ok"; }));
        using var browser = app.NewBrowser();
        app.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/set", null);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Contain("\"status\":503").And.Not.Contain("shop"));
        });
    }
}
