using System.Security.Cryptography;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Etcd.AspNetCore.Session.Tests.Security;

/// <summary>etcd with JWT auth tokens, which become unusable after any user or role change ("revision of auth store is old").</summary>
public sealed class EtcdJwtAuthTests
{
    private const string Prefix = "jwt/sessions/";
    private EtcdMember _etcd = null!;
    private string _keys = null!;

    [OneTimeSetUp]
    public async Task StartEtcdWithJwtAuth()
    {
        _keys = Directory.CreateTempSubdirectory("etcd-jwt-").FullName;
        using var rsa = RSA.Create(2048);
        var priv = Path.Combine(_keys, "jwt.key");
        var pub = Path.Combine(_keys, "jwt.pub");
        await File.WriteAllTextAsync(priv, rsa.ExportRSAPrivateKeyPem());
        await File.WriteAllTextAsync(pub, rsa.ExportSubjectPublicKeyInfoPem());
        _etcd = await EtcdMember.StartSingleAsync("jwt", ["--auth-token", $"jwt,pub-key={pub},priv-key={priv},sign-method=RS256,ttl=10m"]);
        Etcdctl.EnableAuth(_etcd, Prefix);
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        await _etcd.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    [Test]
    public async Task AJwtTokenMadeStaleByAUserChange_IsRenewed_AndTheNextRequestSucceeds()
    {
        using var store = TestStore.Create(o =>
        {
            o.Username = "app";
            o.Password = "apppw";
            o.KeyPrefix = Prefix + Guid.NewGuid().ToString("N") + "/";
            o.IOTimeout = TimeSpan.FromSeconds(3);
        }, endpoints: _etcd.ClientUrl);
        var session = store.NewSession();
        session.SetString("a", "1");
        await session.CommitAsync();

        Etcdctl.Run(_etcd, "user", "add", "someone-new:pw", "--interactive=false"); // bumps the auth store revision
        var reopened = await store.OpenAsync(session.SessionKey);
        reopened.SetString("b", "2");
        await reopened.CommitAsync();

        Assert.That((await store.OpenAsync(session.SessionKey)).Keys, Is.EquivalentTo(new[] { "a", "b" }));
    }
}
