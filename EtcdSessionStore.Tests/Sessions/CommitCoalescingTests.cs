using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>
/// Issue "no acknowledged write is lost", rule 2: concurrent writers on one session all persist, retries are bounded by
/// time rather than by a count, and commits of one session in one instance share transactions.
/// </summary>
public sealed class CommitCoalescingTests
{
    [Test]
    public async Task SixteenConcurrentCommits_OfOneSession_InOneInstance_AllPersist_InFarFewerThanNSquaredTransactions()
    {
        await using var server = await SessionTestServer.StartAsync(kestrel: true);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=seed&value=0")).Dispose();
        server.Calls.Reset();

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var response = await browser.PostAsync($"/set-text?key=k{i}&value={i}");
            return (int)response.StatusCode;
        }));
        var transactions = server.Calls.CallsOf("Txn");
        var values = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => browser.GetStringAsync($"/get?key=k{i}")));

        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.All.EqualTo(StatusCodes.Status200OK));
            Assert.That(values, Is.EqualTo(Enumerable.Range(0, 16).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            Assert.That(transactions, Is.LessThanOrEqualTo(16), "one transaction in flight per session: later commits join the next one");
        });
    }

    [Test]
    public async Task EightConcurrentWriters_SpreadOverTwoInstances_AllPersist()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(EightConcurrentWriters_SpreadOverTwoInstances_AllPersist));
        await using var first = await SessionTestServer.StartAsync(kestrel: true, prefix: prefix);
        await using var second = await SessionTestServer.StartAsync(kestrel: true, prefix: prefix);
        var onFirst = first.NewBrowser();
        (await onFirst.PostAsync("/set?key=seed&value=0")).Dispose();
        var onSecond = second.NewBrowser();
        onSecond.SetSessionCookie(onFirst.SessionCookie!);

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? onFirst : onSecond).PostAsync($"/set-text?key=k{i}&value={i}");
            return (int)response.StatusCode;
        }));
        var values = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => onSecond.GetStringAsync($"/get?key=k{i}")));

        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.All.EqualTo(StatusCodes.Status200OK));
            Assert.That(values, Is.EqualTo(Enumerable.Range(0, 64).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        });
    }

    [Test]
    public async Task ConcurrentCommitsOfOneSession_WithoutTheMiddleware_AllPersist()
    {
        using var store = TestStore.Create();
        var seed = await store.SeedAsync(("seed", "1"));

        var sessions = new List<global::Etcd.AspNetCore.Session.Sessions.EtcdSession>();
        for (var i = 0; i < 32; i++)
        {
            var s = await store.OpenAsync(seed.SessionKey);
            s.SetString($"k{i}", "v");
            sessions.Add(s);
        }

        await Task.WhenAll(sessions.Select(s => s.CommitAsync()));

        var result = await store.OpenAsync(seed.SessionKey);
        Assert.That(result.Keys.Count(), Is.EqualTo(33));
    }
}
