using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Etcd.Main;

/// <summary>
/// <c>--auto-tls</c> / <c>--peer-auto-tls</c>: the certificate and key etcd generates for its
/// client (peer) URLs when no <c>--cert-file</c>/<c>--key-file</c> (<c>--peer-*</c>) is given —
/// <c>cert.pem</c> and <c>key.pem</c> in <c>&lt;data-dir&gt;/fixtures/client</c> (<c>peer</c>), an
/// ECDSA P-521 key, organization "etcd", the listen URLs' hosts as subject alternative names,
/// valid for a year, for server authentication (a peer's also for client authentication). Files
/// already there are reused (a restart keeps its certificate).
/// </summary>
internal sealed record SelfSignedCertificate(string Directory, IReadOnlyList<string> Hosts, bool ClientAuthentication = false)
{
    public string CertFile => Path.Combine(Directory, "cert.pem");

    public string KeyFile => Path.Combine(Directory, "key.pem");

    /// <summary>Writes the pair unless both files exist; returns whether it generated one.</summary>
    public bool Ensure()
    {
        if (File.Exists(CertFile) && File.Exists(KeyFile))
        {
            return false;
        }

        System.IO.Directory.CreateDirectory(Directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var request = new CertificateRequest("O=etcd", key, HashAlgorithmName.SHA512);
        var names = new SubjectAlternativeNameBuilder();
        foreach (string host in Hosts.Select(h => h.Trim('[', ']')).Distinct(StringComparer.Ordinal))
        {
            if (IPAddress.TryParse(host, out IPAddress? address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        OidCollection usages = [new Oid("1.3.6.1.5.5.7.3.1")];
        if (ClientAuthentication)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now, now.AddYears(1), serial);

        WriteAtomically(KeyFile, key.ExportECPrivateKeyPem(), secret: true);
        WriteAtomically(CertFile, certificate.ExportCertificatePem(), secret: false);
        return true;
    }

    private static void WriteAtomically(string path, string pem, bool secret)
    {
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | (secret ? UnixFileMode.None : UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
            writer.Write('\n');
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
