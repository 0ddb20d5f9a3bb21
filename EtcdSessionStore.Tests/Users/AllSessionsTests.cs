using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Users;

/// <summary>Every stored session through <see cref="EtcdSessionDirectory"/>'s public API, as the admin tool uses it.</summary>
public sealed class AllSessionsTests
{
    [Test]
    public async Task ListAll_PagesThroughEverySession_WithIdsAndUsers_NeverSecrets()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var alice = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "ua");
        var anonymousSecret = await SessionsByUserTests.StoredSessionAsync(store);
        var anonymousId = (await store.OpenAsync(anonymousSecret)).Id;

        var first = await directory.ListAllAsync(pageSize: 1);
        var second = await directory.ListAllAsync(pageSize: 1, first.ContinuationToken);
        var all = first.Sessions.Concat(second.Sessions).ToList();

        Assert.Multiple(async () =>
        {
            Assert.That(await directory.CountAsync(), Is.EqualTo(2));
            Assert.That(first.ContinuationToken, Is.Not.Null);
            Assert.That(second.ContinuationToken, Is.Null);
            Assert.That(all.Select(s => s.SessionId), Is.EquivalentTo(new[] { alice.Id, anonymousId }));
            Assert.That(all.Single(s => s.SessionId == alice.Id).UserName, Is.EqualTo("alice"));
            Assert.That(all.Select(s => s.StoredBytes), Is.All.GreaterThan(0));
            Assert.That(first.ContinuationToken, Is.Not.EqualTo(alice.SessionKey).And.Not.EqualTo(anonymousSecret));
        });
    }

    [Test]
    public async Task FindAndRevokeById_WorkOnTheNonSecretId()
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();
        var session = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "Firefox");

        var found = await directory.FindAsync(session.Id);
        var revoked = await directory.RevokeByIdAsync(session.Id);
        var again = await directory.RevokeByIdAsync(session.Id);

        Assert.Multiple(async () =>
        {
            Assert.That(found!.UserName, Is.EqualTo("alice"));
            Assert.That(found.Metadata["ua"], Is.EqualTo("Firefox"));
            Assert.That(found.Items.Keys, Does.Contain("cart"));
            Assert.That(revoked, Is.True);
            Assert.That(again, Is.False);
            Assert.That(await directory.FindAsync(session.Id), Is.Null);
            Assert.That(await directory.ListAsync("alice"), Is.Empty, "the user-index entry went with it");
        });
    }

    private static readonly int[] PageSizesOutOfRange = [0, EtcdSessionDirectory.MaxPageSize + 1];

    [TestCaseSource(nameof(PageSizesOutOfRange))]
    public void ListAll_RefusesAPageSizeOutOfRange(int pageSize)
    {
        using var store = TestStore.Create();
        var directory = store.Services.GetRequiredService<EtcdSessionDirectory>();

        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => directory.ListAllAsync(pageSize));
    }
}
