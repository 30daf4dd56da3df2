using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Platform.Etcd.Cluster.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Cluster.IntegrationTests;

/// <summary>Peers over TLS with client-certificate authentication (--peer-* flags as etcd's).</summary>
public sealed class PeerTlsTests
{
    [Fact]
    public async Task PeerTls_ClusterReplicates_AndAStrangerCertificateIsRefused()
    {
        using var dir = TestDirectory.Create("etcd-peer-tls");
        using RSA caKey = RSA.Create(2048);
        using X509Certificate2 ca = CreateCa(caKey, "platform test peer CA");
        using RSA otherCaKey = RSA.Create(2048);
        using X509Certificate2 otherCa = CreateCa(otherCaKey, "someone else's CA");
        File.WriteAllText(dir.Combine("ca.pem"), ca.ExportCertificatePem());
        WriteLeaf(ca, caKey, dir.Combine("peer"));
        WriteLeaf(otherCa, otherCaKey, dir.Combine("stranger"));

        int[] ports = FreePorts.Next(6);
        var members = Enumerable.Range(0, 3)
            .Select(i => new ClusterMember(Binaries.OurEtcd, $"t{i}", ports[2 * i], ports[(2 * i) + 1], dir.Combine($"t{i}"), "https"))
            .ToList();
        string initialCluster = string.Join(',', members.Select(m => $"{m.Name}={m.PeerUrl}"));
        string[] tls(string who) =>
        [
            "--peer-cert-file", dir.Combine($"{who}.crt"), "--peer-key-file", dir.Combine($"{who}.key"),
            "--peer-trusted-ca-file", dir.Combine("ca.pem"), "--peer-client-cert-auth",
        ];
        try
        {
            await Task.WhenAll(members.Select(m => m.StartAsync(initialCluster, "new", "tls", tls("peer"))));
            Assert.True((await Etcdctl.RunAsync(members[1].ClientUrl, "put", "over-tls", "yes")).Ok);
            foreach (ClusterMember m in members)
            {
                await ClusterTests.WaitForValueAsync(m, "over-tls", "yes");
            }

            // The peer listener requires a client certificate chaining to the CA: the right one gets
            // the member list, a stranger's is refused in the TLS handshake.
            Assert.Contains("\"name\":\"t0\"", await GetMembersAsync(members[0].PeerUrl, dir.Combine("peer")), StringComparison.Ordinal);
            await Assert.ThrowsAsync<HttpRequestException>(() => GetMembersAsync(members[0].PeerUrl, dir.Combine("stranger")));
        }
        finally
        {
            foreach (ClusterMember m in members)
            {
                await m.KillAsync();
            }
        }
    }

    [Fact]
    public async Task PeerAutoTls_EachMemberGeneratesItsPair_AndTheClusterReplicates()
    {
        // etcd's --peer-auto-tls: every member writes a self-signed server+client pair in
        // <data-dir>/fixtures/peer and accepts its peers' self-signed ones.
        using var dir = TestDirectory.Create("etcd-peer-autotls");
        int[] ports = FreePorts.Next(6);
        var members = Enumerable.Range(0, 3)
            .Select(i => new ClusterMember(Binaries.OurEtcd, $"a{i}", ports[2 * i], ports[(2 * i) + 1], dir.Combine($"a{i}"), "https"))
            .ToList();
        string initialCluster = string.Join(',', members.Select(m => $"{m.Name}={m.PeerUrl}"));
        try
        {
            await Task.WhenAll(members.Select(m => m.StartAsync(initialCluster, "new", "autotls", ["--peer-auto-tls"])));
            Assert.True((await Etcdctl.RunAsync(members[2].ClientUrl, "put", "over-auto-tls", "yes")).Ok);
            var thumbprints = new HashSet<string>();
            foreach (ClusterMember m in members)
            {
                await ClusterTests.WaitForValueAsync(m, "over-auto-tls", "yes");
                using X509Certificate2 cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(m.DataDir, "fixtures", "peer", "cert.pem")));
                Assert.Equal("O=etcd", cert.Subject);
                Assert.Contains("1.3.6.1.5.5.7.3.2", cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
                thumbprints.Add(cert.Thumbprint);
            }

            Assert.Equal(3, thumbprints.Count);
        }
        finally
        {
            foreach (ClusterMember m in members)
            {
                await m.KillAsync();
            }
        }
    }

    private static async Task<string> GetMembersAsync(string peerUrl, string certPrefix)
    {
        using var handler = new HttpClientHandler
        {
            // The test trusts the listener; what is under test is whether the listener trusts us.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        };
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certPrefix + ".crt", certPrefix + ".key");
        handler.ClientCertificates.Add(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
        using var client = new HttpClient(handler);
        return await client.GetStringAsync(new Uri(peerUrl + "/members"));
    }

    private static X509Certificate2 CreateCa(RSA key, string name)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A server-and-client certificate for 127.0.0.1 signed by <paramref name="ca"/>, as PEM files <c>prefix.crt</c>/<c>prefix.key</c>.</summary>
    private static void WriteLeaf(X509Certificate2 ca, RSA caKey, string prefix)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=etcd-peer", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        using X509Certificate2 signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        File.WriteAllText(prefix + ".crt", signed.ExportCertificatePem());
        File.WriteAllText(prefix + ".key", key.ExportPkcs8PrivateKeyPem());
    }
}
