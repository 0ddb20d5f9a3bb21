using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// A throwaway PKI written as PEM files to a temp dir: a CA, a server certificate for 127.0.0.1/localhost,
/// a client certificate, and a second CA that signed nothing etcd uses (the wrong CA).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string dir) => Directory = dir;

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string OtherCaFile => Path.Combine(Directory, "other-ca.pem");

    public string ServerCertFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server-key.pem");

    public string ClientCertFile => Path.Combine(Directory, "client.pem");

    public string ClientKeyFile => Path.Combine(Directory, "client-key.pem");

    /// <summary>etcd flags for TLS on the client port, optionally requiring client certificates.</summary>
    public IEnumerable<string> EtcdArguments(bool clientCertAuth) =>
    [
        "--cert-file", ServerCertFile, "--key-file", ServerKeyFile,
        .. clientCertAuth ? new[] { "--client-cert-auth", "--trusted-ca-file", CaFile } : [],
    ];

    /// <summary>An HTTP client that trusts the test CA and presents the client certificate, for etcd's /health.</summary>
    public HttpClient HealthClient()
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(CaFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(ClientCertFile, ClientKeyFile)];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(cas);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(cert));
        };
        return new HttpClient(handler);
    }

    public static TestCertificates Create(string clientCommonName = "session-app")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"etcd-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        var certs = new TestCertificates(dir);
        using var ca = NewCa("Test etcd CA");
        using var other = NewCa("Some other CA");
        File.WriteAllText(certs.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(certs.OtherCaFile, other.ExportCertificatePem());

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        Issue(ca, "CN=127.0.0.1", serverAuth: true, san, certs.ServerCertFile, certs.ServerKeyFile);
        Issue(ca, $"CN={clientCommonName}", serverAuth: false, null, certs.ClientCertFile, certs.ClientKeyFile);
        return certs;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static X509Certificate2 NewCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
    }

    private static void Issue(X509Certificate2 ca, string subject, bool serverAuth, SubjectAlternativeNameBuilder? san, string certFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2), serial);
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
