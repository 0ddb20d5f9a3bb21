using System.Diagnostics;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Security;

/// <summary>TLS to a real etcd started with certificates these tests generate.</summary>
[NonParallelizable]
public sealed class EtcdTlsTests
{
    private TestCertificates _certs = null!;

    [OneTimeSetUp]
    public void MakeCertificates() => _certs = TestCertificates.Create();

    [OneTimeTearDown]
    public void RemoveCertificates() => _certs.Dispose();

    [Test]
    public async Task Https_WithTheRightCa_StoresAndReadsSessions()
    {
        await using var etcd = await EtcdMember.StartSingleAsync("tls", _certs.EtcdArguments(clientCertAuth: false), "https", _certs.HealthClient);
        using var store = TestStore.Create(o => o.TlsCaCertificateFile = _certs.CaFile, endpoints: etcd.ClientUrl);

        var session = store.NewSession();
        session.SetString("cart", "pears");
        await session.CommitAsync();
        var again = await store.OpenAsync(session.SessionKey);

        Assert.That(again.GetString("cart"), Is.EqualTo("pears"));
    }

    [Test]
    public async Task Https_WithAnotherCa_IsRejected_WithinIOTimeout()
    {
        await using var etcd = await EtcdMember.StartSingleAsync("tls-wrong-ca", _certs.EtcdArguments(clientCertAuth: false), "https", _certs.HealthClient);
        using var store = TestStore.Create(o =>
        {
            o.TlsCaCertificateFile = _certs.OtherCaFile;
            o.IOTimeout = TimeSpan.FromSeconds(2);
        }, endpoints: etcd.ClientUrl);
        var session = store.Store.CreateStrict("some-client-key");

        var watch = Stopwatch.StartNew();
        var ex = Assert.ThrowsAsync<EtcdSessionException>(() => session.LoadAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.EtcdError));
            Assert.That(ex.Message, Does.Contain("TLS handshake").And.Contain("TlsCaCertificateFile"));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2.5)));
            Assert.That(session.IsAvailable, Is.False);
        });
    }

    [Test]
    public async Task Https_WithoutTlsSettingsOrSystemTrust_IsRejected()
    {
        // The test CA is in no system store: default verification must refuse the server.
        await using var etcd = await EtcdMember.StartSingleAsync("tls-system", _certs.EtcdArguments(clientCertAuth: false), "https", _certs.HealthClient);
        using var store = TestStore.Create(o => o.IOTimeout = TimeSpan.FromSeconds(1), endpoints: etcd.ClientUrl);

        Assert.That(async () => await store.Store.CreateStrict("k").LoadAsync(), Throws.InstanceOf<EtcdSessionException>());
    }

    [Test]
    public async Task ClientCertificateAuth_WithTheCertificate_Works_AndWithoutIt_IsRefused()
    {
        await using var etcd = await EtcdMember.StartSingleAsync("tls-client-auth", _certs.EtcdArguments(clientCertAuth: true), "https", _certs.HealthClient);
        using var withCert = TestStore.Create(o =>
        {
            o.TlsCaCertificateFile = _certs.CaFile;
            o.TlsClientCertificateFile = _certs.ClientCertFile;
            o.TlsClientKeyFile = _certs.ClientKeyFile;
        }, endpoints: etcd.ClientUrl);
        using var withoutCert = TestStore.Create(o =>
        {
            o.TlsCaCertificateFile = _certs.CaFile;
            o.IOTimeout = TimeSpan.FromSeconds(1);
        }, endpoints: etcd.ClientUrl);

        var session = withCert.NewSession();
        session.SetString("a", "1");
        await session.CommitAsync();
        var refused = withoutCert.Store.CreateStrict(session.SessionKey);

        Assert.Multiple(async () =>
        {
            Assert.That((await withCert.OpenAsync(session.SessionKey)).GetString("a"), Is.EqualTo("1"));
            Assert.That(async () => await refused.LoadAsync(), Throws.InstanceOf<EtcdSessionException>());
        });
    }

    [Test]
    public void Validation_NamesMissingOrUnreadableTlsFiles()
    {
        var messages = ValidationFailures(o =>
        {
            o.Endpoints = "https://127.0.0.1:2379";
            o.TlsCaCertificateFile = Path.Combine(_certs.Directory, "missing-ca.pem");
            o.TlsClientCertificateFile = _certs.ClientCertFile;
        });

        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Some.Contains("TlsCaCertificateFile").And.Contains("missing-ca.pem").And.Contains("cannot be read"));
            Assert.That(messages, Has.Some.Contains("TlsClientKeyFile").And.Contains("give both"));
        });
    }

    [Test]
    public void Validation_RejectsAKeyThatIsNotPem_AndTlsFilesWithHttpEndpoints()
    {
        var messages = ValidationFailures(o =>
        {
            o.Endpoints = "http://127.0.0.1:2379";
            o.TlsCaCertificateFile = _certs.CaFile;
            o.TlsClientCertificateFile = _certs.ClientCertFile;
            o.TlsClientKeyFile = _certs.CaFile; // a certificate, not a key
        });

        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Some.Contains("http://").And.Contains("use https://"));
            Assert.That(messages, Has.Some.Contains("TlsClientKeyFile").And.Contains("cannot be loaded"));
        });
    }

    private static IReadOnlyList<string> ValidationFailures(Action<EtcdSessionOptions> configure)
    {
        var services = new ServiceCollection().AddEtcdSession(configure).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value);
        return [.. ex!.Failures];
    }
}
