using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.Sessions;

/// <summary>
/// Issue "no acknowledged write is lost", rule 4: a commit repeated after its reply was lost must not re-apply its changes
/// over a write that came after it (and saw it).
/// </summary>
public sealed class AmbiguousRetryTests
{
    [Test]
    public async Task CommitRetriedAfterALostReply_DoesNotOverwriteALaterWriterThatSawIt()
    {
        var prefix = EtcdFixture.UniquePrefix(nameof(CommitRetriedAfterALostReply_DoesNotOverwriteALaterWriterThatSawIt));
        await using var server = await SessionTestServer.StartAsync(prefix: prefix);
        await using var otherInstance = await SessionTestServer.StartAsync(prefix: prefix);
        var browser = server.NewBrowser();
        (await browser.PostAsync("/set?key=cart&value=empty")).Dispose();
        var later = otherInstance.NewBrowser();
        later.SetSessionCookie(browser.SessionCookie!);
        string? seenByLater = null;
        server.Calls.DropNextReply("Txn", async () =>
        {
            // The first write is applied; before its writer learns so, another request reads it and writes over it.
            seenByLater = await later.GetStringAsync("/get?key=cart");
            (await later.PostAsync("/set?key=cart&value=second")).Dispose();
        });

        using var first = await browser.PostAsync("/set?key=cart&value=first");

        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), "the first write was stored: its retry learns so");
            Assert.That(seenByLater, Is.EqualTo("first"));
            Assert.That(await browser.GetStringAsync("/get?key=cart"), Is.EqualTo("second"));
        });
    }
}
