using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using AddCowMount.Core.Format;

namespace AddCowMount.Nbd.Server;

/// <summary>
/// TLS for NBD_OPT_STARTTLS through <see cref="SslStream"/>: the server certificate and key from PEM files, and
/// with a client CA, a client certificate is required and must chain to that CA (NBD's authentication).
/// </summary>
public sealed class NbdTls : IDisposable
{
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2Collection? _clientCa;

    public NbdTls(string certificatePath, string keyPath, string? clientCaPath)
    {
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

            // SChannel (Windows) refuses ephemeral keys; a PKCS#12 round trip gives a usable one everywhere.
            _certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            if (clientCaPath is not null)
            {
                _clientCa = [];
                _clientCa.ImportFromPemFile(clientCaPath);
                if (_clientCa.Count == 0)
                {
                    throw new AddCowException(AddCowError.InvalidArgument, clientCaPath, $"{clientCaPath}: no certificate in the file");
                }
            }
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new AddCowException(AddCowError.InvalidArgument, certificatePath, $"TLS certificate {certificatePath} / key {keyPath}: {ex.Message}");
        }
    }

    public bool RequiresClientCertificate => _clientCa is not null;

    /// <summary>The upgrade the protocol calls after acknowledging STARTTLS.</summary>
    public async Task<Stream> AuthenticateAsync(Stream inner, CancellationToken cancel)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = RequiresClientCertificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = ValidateClient,
            }, cancel).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_clientCa is null)
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_clientCa);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        using X509Certificate2 client = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(client);
    }

    public void Dispose() => _certificate.Dispose();
}
