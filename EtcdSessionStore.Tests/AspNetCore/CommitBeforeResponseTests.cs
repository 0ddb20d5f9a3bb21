using System.Net;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// Issue "no acknowledged write is lost", rule 1: changes made before the response starts are committed before
/// the status line goes out; a failed commit turns the response into an error; a change made after the response
/// started and not stored breaks the response. Run on Kestrel and on TestServer.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public sealed class CommitBeforeResponseTests
{
    private readonly bool _kestrel;

    public CommitBeforeResponseTests(bool kestrel)
    {
        _kestrel = kestrel;
    }

    [Test]
    public async Task StringEndpoint_WhoseCommitFails_AnswersServiceUnavailable_WithoutItsBody_OrACookie()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();
        server.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/set-text?key=cart&value=apple");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(body, Does.Contain("not saved").And.Not.Contain("ok\""));
            Assert.That(body, Does.Not.StartWith("ok"));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        });
    }

    [Test]
    public async Task StringEndpoint_SettingAValueOverMaxSessionBytes_IsRefused_AndNothingIsStored()
    {
        await using var server = await SessionTestServer.StartAsync(o => o.MaxSessionBytes = 1024, kestrel: _kestrel);
        var browser = server.NewBrowser();

        using var response = await browser.PostAsync("/set-text?key=cart&value=" + new string('x', 2000));
        var body = await response.Content.ReadAsStringAsync();
        var stored = await EtcdFixture.Client.GetRangeAsync(server.Prefix);

        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(StatusCodes.Status413PayloadTooLarge));
            Assert.That(body, Does.Contain("MaxSessionBytes").Or.Contain("too large"));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
            Assert.That(stored.Kvs, Is.Empty);
        });
    }

    [Test]
    public async Task EndpointThatStartsTheBodyAfterChanging_CommitsFirst_SoAFailureIsStillAnError()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();
        server.Calls.FailingMethod = "Txn";

        using var response = await browser.PostAsync("/set-streaming?key=cart&value=apple");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(body, Does.Not.Contain("streamed"));
        });
    }

    [Test]
    public async Task EndpointThatStartsTheBodyAfterChanging_HasItsChangeStored_BeforeTheClientSeesTheBody()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();

        using var response = await browser.PostAsync("/set-streaming?key=cart&value=apple");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.EqualTo("streamed"));
            Assert.That(browser.SessionCookie, Is.Not.Null);
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task StreamingEndpoint_ChangingTheSessionAfterTheBodyStarted_WhoseCommitFails_BreaksTheResponse()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();
        server.Calls.FailingMethod = "Txn";

        var outcome = await CompleteResponseOrFailure(() => browser.PostAsync("/stream-then-set?key=cart&value=pear"));
        server.Calls.FailingMethod = null;

        Assert.Multiple(async () =>
        {
            Assert.That(outcome, Is.EqualTo("broken"), "a change that was not stored must never end in a clean success");
            Assert.That(server.Logs.Entries.Any(e => e.EventId.Id == 104), Is.True);
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("apple"));
        });
    }

    [Test]
    public async Task StreamingEndpoint_ChangingTheSessionAfterTheBodyStarted_IsStored()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=apple")).Dispose();

        using var response = await browser.PostAsync("/stream-then-set?key=cart&value=pear");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(body, Is.EqualTo("streamed"));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("pear"));
        });
    }

    [Test]
    public async Task StreamingEndpoint_StartingANewSessionAfterTheBodyStarted_IsRefused_AndStoresNothing()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();

        using var response = await browser.PostAsync("/stream-then-try-set?key=cart&value=apple");
        var body = await response.Content.ReadAsStringAsync();
        var stored = await EtcdFixture.Client.GetRangeAsync(server.Prefix);

        Assert.Multiple(() =>
        {
            Assert.That(body, Is.EqualTo("streamed;refused"), "no cookie can carry a session started after the headers went out");
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
            Assert.That(stored.Kvs, Is.Empty);
        });
    }

    [Test]
    public async Task EndpointThatThrowsAfterChangingANewSession_StoresNothing_AndSendsNoCookie()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();

        HttpResponseMessage? response = null;
        try
        {
            response = await browser.PostAsync("/set-then-throw?key=cart&value=apple");
        }
        catch (InvalidOperationException) when (!_kestrel)
        {
            // TestServer rethrows the endpoint's exception; Kestrel answers 500.
        }

        var stored = await EtcdFixture.Client.GetRangeAsync(server.Prefix);
        Assert.Multiple(() =>
        {
            if (response is not null)
            {
                Assert.That((int)response.StatusCode, Is.EqualTo(500));
                Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
            }

            Assert.That(stored.Kvs, Is.Empty);
            Assert.That(browser.SessionCookie, Is.Null);
        });
        response?.Dispose();
    }

    [Test]
    public async Task EightConcurrentStringEndpoints_OnOneSession_LoseNoAcknowledgedWrite()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: _kestrel);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=seed&value=0")).Dispose();

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 120), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            using var response = await browser.PostAsync($"/set-text?key=k{i}&value=v{i}");
            if (response.IsSuccessStatusCode)
            {
                acknowledged.Add($"k{i}");
            }
        });

        var missing = new List<string>();
        foreach (var key in acknowledged)
        {
            if (await browser.GetStringAsync("/get?key=" + key) != "v" + key[1..])
            {
                missing.Add(key);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Empty, "acknowledged writes missing from the session");
            Assert.That(acknowledged, Has.Count.EqualTo(120), "no request needed to fail: the store resolves the contention");
        });
    }

    /// <summary>"complete" when the client read a whole, clean response; "broken" when the response failed mid-way.</summary>
    private static async Task<string> CompleteResponseOrFailure(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            using var response = await send();
            await response.Content.ReadAsStringAsync();
            return "complete";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            return "broken";
        }
    }
}
