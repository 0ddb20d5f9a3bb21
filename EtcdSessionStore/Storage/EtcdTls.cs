using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// TLS to etcd: loads the PEM files named in <see cref="EtcdSessionOptions"/> and verifies etcd's server
/// certificate against the configured CA only, host name included.
/// </summary>
internal sealed class EtcdTls
{
    private EtcdTls(X509Certificate2Collection? trustedCas, X509Certificate2? clientCertificate)
    {
        TrustedCas = trustedCas;
        ClientCertificate = clientCertificate;
    }

    /// <summary>The CAs etcd's server certificate must chain to; <see langword="null"/>: the system store.</summary>
    public X509Certificate2Collection? TrustedCas { get; }

    public X509Certificate2? ClientCertificate { get; }

    private static readonly string Section = EtcdSessionDefaults.ConfigurationSection;

    /// <summary>Loads the files; on failure <paramref name="errors"/> says which setting and why.</summary>
    public static bool TryLoad(EtcdSessionOptions options, out EtcdTls? tls, out List<string> errors)
    {
        errors = [];
        tls = null;
        X509Certificate2Collection? cas = null;
        X509Certificate2? client = null;
        if (!string.IsNullOrEmpty(options.TlsCaCertificateFile))
        {
            cas = [];
            try
            {
                cas.ImportFromPemFile(options.TlsCaCertificateFile);
                if (cas.Count == 0)
                {
                    errors.Add($"{Section}:TlsCaCertificateFile '{options.TlsCaCertificateFile}' holds no PEM certificate (expected -----BEGIN CERTIFICATE-----).");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                errors.Add($"{Section}:TlsCaCertificateFile '{options.TlsCaCertificateFile}' cannot be read: {ex.Message}");
            }
        }

        var hasCert = !string.IsNullOrEmpty(options.TlsClientCertificateFile);
        var hasKey = !string.IsNullOrEmpty(options.TlsClientKeyFile);
        if (hasCert != hasKey)
        {
            errors.Add($"{Section}:TlsClientCertificateFile and {Section}:TlsClientKeyFile go together: give both (PEM certificate and its private key) or neither.");
        }
        else if (hasCert)
        {
            try
            {
                client = X509Certificate2.CreateFromPemFile(options.TlsClientCertificateFile!, options.TlsClientKeyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                errors.Add($"{Section}:TlsClientCertificateFile '{options.TlsClientCertificateFile}' with {Section}:TlsClientKeyFile '{options.TlsClientKeyFile}' cannot be loaded: {ex.Message} Expected a PEM certificate and its unencrypted PEM private key.");
            }
        }

        if (errors.Count > 0)
        {
            client?.Dispose();
            return false;
        }

        tls = new EtcdTls(cas, client);
        return true;
    }

    /// <summary>Applies the certificates to the TLS handshake of the etcd channel.</summary>
    public void Configure(SslClientAuthenticationOptions ssl)
    {
        if (ClientCertificate is not null)
        {
            ssl.ClientCertificates = [ClientCertificate];
        }

        if (TrustedCas is not null)
        {
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsTrusted(certificate, errors);
        }
    }

    private bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors)
    {
        // A name mismatch or a missing certificate is final; chain errors are re-checked against our CAs only.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedCas!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
