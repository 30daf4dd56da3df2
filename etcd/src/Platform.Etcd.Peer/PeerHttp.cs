using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Platform.Etcd.Api;

namespace Platform.Etcd.Peer;

/// <summary>Paths, headers, JSON and HTTP clients of the peer protocol.</summary>
internal static class PeerHttp
{
    public const string StreamPath = "/raft/stream";
    public const string SnapshotPath = "/raft/snapshot";
    public const string RequestPathPrefix = "/raft/request/";
    public const string ProbingPath = "/raft/probing";
    public const string MembersPath = "/members";
    public const string VersionPath = "/version";

    // etcd's rafthttp headers.
    public const string FromHeader = "X-Server-From";
    public const string ToHeader = "X-Raft-To";
    public const string ClusterIdHeader = "X-Etcd-Cluster-ID";

    /// <summary>On a failed forwarded request: the EtcdErrorCode (the body is the message).</summary>
    public const string ErrorCodeHeader = "X-Etcd-Error-Code";

    public static string Hex(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);

    public static bool TryParseHex(string? value, out ulong id) =>
        ulong.TryParse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out id);

    /// <summary>An HTTP/1.1 client for peer URLs (with client certificate and CA checks under TLS).</summary>
    public static HttpClient CreateClient(PeerTlsOptions? tls, TimeSpan dialTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = dialTimeout,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = int.MaxValue,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        if (tls is not null)
        {
            var ssl = new SslClientAuthenticationOptions();
            if (tls.CertFile.Length > 0 && tls.KeyFile.Length > 0)
            {
                X509Certificate2 certificate = LoadCertificate(tls.CertFile, tls.KeyFile);
                ssl.ClientCertificates = [certificate];
            }

            if (tls.InsecureSkipVerify)
            {
                // Any certificate, as long as there is one (the chain is not checked).
                ssl.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null;
            }
            else if (tls.TrustedCaFile is not null)
            {
                X509Certificate2Collection roots = LoadRoots(tls.TrustedCaFile);
                ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    certificate is X509Certificate2 peer && ChainsTo(peer, roots);
            }

            handler.SslOptions = ssl;
        }

        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestVersion = new Version(1, 1) };
    }

    public static X509Certificate2 LoadCertificate(string certFile, string keyFile)
    {
        // Ephemeral keys cannot be used by SslStream on every platform; a PKCS#12 round trip makes it persistable in memory.
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    public static X509Certificate2Collection LoadRoots(string caFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        return roots;
    }

    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>etcd's /members body: the members as JSON (ids as numbers, as Go encodes types.ID).</summary>
    public static byte[] WriteMembers(IReadOnlyList<Member> members)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            foreach (Member m in members)
            {
                json.WriteStartObject();
                json.WriteNumber("id", m.ID);
                json.WriteStartArray("peerURLs");
                foreach (string url in m.PeerURLs)
                {
                    json.WriteStringValue(url);
                }

                json.WriteEndArray();
                if (m.Name.Length > 0)
                {
                    json.WriteString("name", m.Name);
                }

                json.WriteStartArray("clientURLs");
                foreach (string url in m.ClientURLs)
                {
                    json.WriteStringValue(url);
                }

                json.WriteEndArray();
                if (m.IsLearner)
                {
                    json.WriteBoolean("isLearner", true);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return stream.ToArray();
    }

    /// <exception cref="JsonException">Not a member list.</exception>
    public static IReadOnlyList<Member> ParseMembers(ReadOnlySpan<byte> body)
    {
        var members = new List<Member>();
        using JsonDocument doc = JsonDocument.Parse(body.ToArray());
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            var m = new Member { ID = e.GetProperty("id").GetUInt64() };
            if (e.TryGetProperty("name", out JsonElement name))
            {
                m.Name = name.GetString() ?? string.Empty;
            }

            if (e.TryGetProperty("peerURLs", out JsonElement peers))
            {
                m.PeerURLs.AddRange(peers.EnumerateArray().Select(u => u.GetString() ?? string.Empty));
            }

            if (e.TryGetProperty("clientURLs", out JsonElement clients) && clients.ValueKind == JsonValueKind.Array)
            {
                m.ClientURLs.AddRange(clients.EnumerateArray().Select(u => u.GetString() ?? string.Empty));
            }

            m.IsLearner = e.TryGetProperty("isLearner", out JsonElement learner) && learner.ValueKind == JsonValueKind.True;
            members.Add(m);
        }

        return members;
    }
}
