using System.Diagnostics;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Security;

/// <summary>
/// etcd authentication against a real member: a user whose role may read and write only the session prefix,
/// a user without that permission, a wrong password, and short-lived auth tokens.
/// </summary>
public sealed class EtcdAuthTests
{
    private const string Prefix = "app/sessions/";
    private EtcdMember _etcd = null!;

    [OneTimeSetUp]
    public async Task StartEtcdWithAuth()
    {
        // Simple tokens expire after two idle seconds, so a test can wait for expiry.
        _etcd = await EtcdMember.StartSingleAsync("auth", ["--auth-token", "simple", "--auth-token-ttl", "2"]);
        Etcdctl.EnableAuth(_etcd, Prefix);
    }

    [OneTimeTearDown]
    public async Task StopEtcd() => await _etcd.DisposeAsync();

    [Test]
    public async Task UserWithARoleOnThePrefix_StoresAndReadsSessions()
    {
        using var store = Store("app", "apppw");
        var session = store.NewSession();
        session.SetString("cart", "plums");
        await session.CommitAsync();

        Assert.That((await store.OpenAsync(session.SessionKey)).GetString("cart"), Is.EqualTo("plums"));
    }

    [Test]
    public void WrongPassword_FailsQuickly_WithPermissionDenied()
    {
        using var store = Store("app", "not-the-password");

        var watch = Stopwatch.StartNew();
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => store.Store.CreateStrict("client-key").LoadAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.PermissionDenied), ex.Message);
            Assert.That(ex.Message, Does.Contain("user, password"));
            Assert.That(ex.Message, Does.Not.Contain("not-the-password"));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
        });
    }

    [Test]
    public void UserWithoutPermissionOnThePrefix_FailsQuickly_WithPermissionDenied()
    {
        using var store = Store("outsider", "outpw");
        var session = store.NewSession();
        session.SetString("a", "1");

        var watch = Stopwatch.StartNew();
        var read = Assert.ThrowsAsync<EtcdSessionException>(() => store.Store.CreateStrict("client-key").LoadAsync());
        var write = Assert.ThrowsAsync<EtcdSessionException>(() => session.CommitAsync());

        Assert.Multiple(() =>
        {
            Assert.That(read!.Kind, Is.EqualTo(EtcdSessionErrorKind.PermissionDenied), read.Message);
            Assert.That(write!.Kind, Is.EqualTo(EtcdSessionErrorKind.PermissionDenied), write.Message);
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
        });
    }

    [Test]
    public async Task AnExpiredAuthToken_IsRenewed_AndTheNextRequestSucceeds()
    {
        using var store = Store("app", "apppw");
        var session = store.NewSession();
        session.SetString("a", "1");
        await session.CommitAsync();

        await Task.Delay(TimeSpan.FromSeconds(3.5)); // the token expires after 2 idle seconds
        var reopened = await store.OpenAsync(session.SessionKey);
        reopened.SetString("b", "2");
        await reopened.CommitAsync();

        Assert.That((await store.OpenAsync(session.SessionKey)).Keys, Is.EquivalentTo(new[] { "a", "b" }));
    }

    [Test]
    public void Password_NeverAppearsInToString()
    {
        var options = new EtcdSessionOptions { Username = "app", Password = "apppw" };

        Assert.That(options.ToString(), Does.Not.Contain("apppw").And.Contain("*****"));
    }

    private TestStore Store(string user, string password) => TestStore.Create(o =>
    {
        o.Username = user;
        o.Password = password;
        o.KeyPrefix = Prefix + Guid.NewGuid().ToString("N") + "/";
        o.IOTimeout = TimeSpan.FromSeconds(3);
    }, endpoints: _etcd.ClientUrl);
}
