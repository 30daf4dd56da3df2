using System.Net;
using System.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.Etcd.Api;
using Platform.Etcd.IntegrationTests.Infrastructure;
using Platform.Testing;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>The built <c>etcd</c> executable as a child process, configured by etcd's flags and ETCD_* variables.</summary>
public sealed class ExecutableTests
{
    private static readonly TimeSpan s_processTimeout = TimeSpan.FromSeconds(90);

    [EtcdctlFact]
    public async Task Flags_OnePort_ServesEtcdctlGatewayAndHealth()
    {
        await using EtcdProcess etcd = await EtcdProcess.StartOursAsync("exe-flags", ["--enable-v2"]);
        var ctl = new Etcdctl(etcd.ClientUrl);
        Assert.Equal("OK\n", await ctl.OkAsync("put", "exe/k", "v"));
        Assert.Equal("exe/k\nv\n", await ctl.OkAsync("get", "exe/k"));

        using var http = new HttpClient { BaseAddress = etcd.ClientUrl };
        string range = await (await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("exe/k")}\"}}"))).Content.ReadAsStringAsync();
        Assert.Contains($"\"value\":\"{B64("v")}\"", range, StringComparison.Ordinal);
        Assert.Equal("{\"health\":\"true\"}", await http.GetStringAsync(new Uri("/health", UriKind.Relative)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/v2/keys/", UriKind.Relative))).StatusCode);
        Assert.Contains("serving insecure client requests on 127.0.0.1:", etcd.Output, StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task Environment_EtcdVariables_ConfigureTheMember()
    {
        int[] ports = FreePorts.Next(3);
        using TestDirectory directory = TestDirectory.Create("exe-env");
        string client = $"http://127.0.0.1:{ports[0]}";
        var environment = new Dictionary<string, string>
        {
            ["ETCD_NAME"] = "fromenv",
            ["ETCD_DATA_DIR"] = directory.Combine("data"),
            ["ETCD_LISTEN_CLIENT_URLS"] = client,
            ["ETCD_ADVERTISE_CLIENT_URLS"] = client,
            ["ETCD_LISTEN_PEER_URLS"] = $"http://127.0.0.1:{ports[1]}",
            ["ETCD_INITIAL_ADVERTISE_PEER_URLS"] = $"http://127.0.0.1:{ports[1]}",
            ["ETCD_ENABLE_V2"] = "true",
            ["ETCD_LISTEN_METRICS_URLS"] = $"http://127.0.0.1:{ports[2]}",
        };
        using ChildProcess etcd = ChildProcess.Start(Binaries.OurEtcd, [], environment);
        await etcd.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), s_processTimeout);

        string members = await new Etcdctl(new Uri(client)).OkAsync("member", "list");
        Assert.Contains(", started, fromenv, http://127.0.0.1:" + ports[1] + ", " + client + ", false", members, StringComparison.Ordinal);
        Assert.True(Directory.Exists(directory.Combine("data", "member")), "the data dir comes from ETCD_DATA_DIR");

        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[2]}") };
        Assert.Contains("# TYPE", await metrics.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(new Uri("/v2/keys/", UriKind.Relative))).StatusCode);
    }

    [EtcdctlFact]
    public async Task Sigterm_GracefulShutdown_ExitsZeroAndRestartKeepsData()
    {
        int[] ports = FreePorts.Next(2);
        using TestDirectory directory = TestDirectory.Create("exe-restart");
        string client = $"http://127.0.0.1:{ports[0]}";
        string[] args =
        [
            "--name", "r", "--data-dir", directory.Combine("data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", $"http://127.0.0.1:{ports[1]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{ports[1]}",
            "--initial-cluster", $"r=http://127.0.0.1:{ports[1]}",
        ];
        var ctl = new Etcdctl(new Uri(client));
        using (ChildProcess first = ChildProcess.Start(Binaries.OurEtcd, args))
        {
            await first.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), s_processTimeout);
            await ctl.OkAsync("put", "durable", "yes");
            first.Terminate();
            await first.Exited.WaitAsync(s_processTimeout);
            Assert.Equal(0, first.ExitCode);
            Assert.Contains("received signal; shutting down", first.Output, StringComparison.Ordinal);
        }

        using ChildProcess second = ChildProcess.Start(Binaries.OurEtcd, args);
        await second.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), s_processTimeout);
        Assert.Equal("durable\nyes\n", await ctl.OkAsync("get", "durable"));
    }

    [Theory]
    [InlineData(new[] { "--heartbeat-interval", "0" }, 1, "--heartbeat-interval must be >0 (set to 0ms)")]
    [InlineData(new[] { "--election-timeout", "200" }, 1, "--election-timeout[200ms] should be at least as 5 times as --heartbeat-interval[100ms]")]
    [InlineData(new[] { "--listen-client-urls", "http://127.0.0.1:2999" }, 1, "--advertise-client-urls is required when --listen-client-urls is set explicitly")]
    [InlineData(new[] { "--initial-cluster-state", "bad" }, 2, "invalid value \"bad\" for flag -initial-cluster-state: invalid value")]
    [InlineData(new[] { "--auto-compaction-mode", "bad" }, 1, "unknown auto-compaction-mode \"bad\"")]
    [InlineData(new[] { "--listen-client-urls", "http://example.com:2379", "--advertise-client-urls", "http://example.com:2379" }, 1, "expected IP in URL for binding (http://example.com:2379)")]
    [InlineData(new[] { "extra" }, 1, "'extra' is not a valid flag")]
    [InlineData(new[] { "--bogus" }, 2, "flag provided but not defined: -bogus")]
    [InlineData(new[] { "--backend-batch-interval", "soon" }, 2, "invalid value \"soon\" for flag -backend-batch-interval: parse error")]
    public async Task BadFlags_EtcdsMessageAndExitCode(string[] args, int exitCode, string message)
    {
        using TestDirectory directory = TestDirectory.Create("exe-badflags");
        string[] all = [.. args, "--data-dir", directory.Combine("data")];
        CommandResult ours = await Command.RunAsync(Binaries.OurEtcd, all, s_processTimeout);
        Assert.Equal(exitCode, ours.ExitCode);
        Assert.Contains(message, ours.Stderr, StringComparison.Ordinal);
        if (exitCode == 1)
        {
            Assert.Contains($"error verifying flags, {message}. See 'etcd --help'.", ours.Stderr, StringComparison.Ordinal);
        }

        if (File.Exists(Binaries.RealEtcd))
        {
            // The real etcd 3.4 says the same and exits the same way.
            CommandResult real = await Command.RunAsync(Binaries.RealEtcd, all, s_processTimeout);
            Assert.Equal(real.ExitCode, ours.ExitCode);
            Assert.Contains(message, real.Stderr, StringComparison.Ordinal);
        }
    }

    [EtcdctlFact]
    public async Task BackendBatchFlags_AcceptedAsByEtcd()
    {
        // etcd 3.4 takes both (a real member with them is started too when it is installed).
        string[] args = ["--backend-batch-interval", "5ms", "--backend-batch-limit", "100"];
        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("exe-batch", args);
        Assert.Equal("OK\n", await new Etcdctl(ours.ClientUrl).OkAsync("put", "batch/k", "v"));
        if (File.Exists(Binaries.RealEtcd))
        {
            await using EtcdProcess real = await EtcdProcess.StartRealAsync("exe-batch-real", args);
            Assert.Equal("OK\n", await new Etcdctl(real.ClientUrl).OkAsync("put", "batch/k", "v"));
        }
    }

    [EtcdctlFact]
    public async Task ProgressNotifyInterval_Flag_SetsHowOftenWatchersHearProgress()
    {
        // 200 ms instead of 10 minutes: a watcher that asked for progress notifications gets one
        // (no events, not created, not canceled) soon, from ours as from the real etcd.
        string[] args = ["--experimental-watch-progress-notify-interval", "200ms"];
        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("exe-progress", args);
        Assert.True(await GetsProgressNotificationAsync(ours.ClientUrl), "ours sent no progress notification within 30 s");
        if (File.Exists(Binaries.RealEtcd))
        {
            await using EtcdProcess real = await EtcdProcess.StartRealAsync("exe-progress-real", args);
            Assert.True(await GetsProgressNotificationAsync(real.ClientUrl), "the real etcd sent no progress notification within 30 s");
        }

        static async Task<bool> GetsProgressNotificationAsync(Uri clientUrl)
        {
            using GrpcChannel channel = GrpcChannel.ForAddress(clientUrl);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call = new Watch.WatchClient(channel).Watch(cancellationToken: deadline.Token);
            await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("progress/k"), ProgressNotify = true } });
            try
            {
                while (await call.ResponseStream.MoveNext(deadline.Token))
                {
                    WatchResponse response = call.ResponseStream.Current;
                    if (!response.Created && !response.Canceled && response.Events.Count == 0)
                    {
                        return true;
                    }
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
            {
            }

            return false;
        }
    }

    [EtcdctlFact]
    public async Task MaxConcurrentStreams_Flag_IsAdvertisedInHttp2Settings()
    {
        // The server's SETTINGS frame carries SETTINGS_MAX_CONCURRENT_STREAMS (0x3), ours as the real etcd's.
        string[] args = ["--max-concurrent-streams", "7"];
        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("exe-streams", args);
        Assert.Equal(7u, await AdvertisedMaxStreamsAsync(ours.ClientUrl));
        if (File.Exists(Binaries.RealEtcd))
        {
            await using EtcdProcess real = await EtcdProcess.StartRealAsync("exe-streams-real", args);
            Assert.Equal(7u, await AdvertisedMaxStreamsAsync(real.ClientUrl));
        }

        static async Task<uint?> AdvertisedMaxStreamsAsync(Uri clientUrl)
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            System.Net.Sockets.NetworkStream stream = await OpenHttp2Async(tcp, clientUrl);
            (byte type, byte[] payload) = await ReadFrameAsync(stream);
            Assert.Equal(4, type);
            for (int i = 0; i + 6 <= payload.Length; i += 6)
            {
                if (System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)) == 3)
                {
                    return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
                }
            }

            return null;
        }
    }

    [EtcdctlFact]
    public async Task GrpcKeepAliveInterval_Flag_MakesTheServerPingIdleConnections()
    {
        // 1 s instead of 2 h: an idle HTTP/2 connection gets a PING frame from ours as from the real etcd.
        string[] args = ["--grpc-keepalive-interval", "1s"];
        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("exe-keepalive", args);
        await ExpectPingAsync(ours.ClientUrl);
        if (File.Exists(Binaries.RealEtcd))
        {
            await using EtcdProcess real = await EtcdProcess.StartRealAsync("exe-keepalive-real", args);
            await ExpectPingAsync(real.ClientUrl);
        }

        static async Task ExpectPingAsync(Uri clientUrl)
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            System.Net.Sockets.NetworkStream stream = await OpenHttp2Async(tcp, clientUrl);
            while (true)
            {
                // Everything up to the ping is the server's SETTINGS, its ACK of ours, a WINDOW_UPDATE.
                // A read that times out (30 s) throws and fails the test.
                (byte type, _) = await ReadFrameAsync(stream);
                if (type == 6)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A cleartext HTTP/2 connection (prior knowledge): the preface and an empty SETTINGS frame sent, reads time out after 30 s.</summary>
    private static async Task<System.Net.Sockets.NetworkStream> OpenHttp2Async(System.Net.Sockets.TcpClient tcp, Uri clientUrl)
    {
        await tcp.ConnectAsync(clientUrl.Host, clientUrl.Port);
        System.Net.Sockets.NetworkStream stream = tcp.GetStream();
        stream.ReadTimeout = 30_000;
        byte[] preface = [.. Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0];
        await stream.WriteAsync(preface);
        return stream;
    }

    private static async Task<(byte Type, byte[] Payload)> ReadFrameAsync(System.Net.Sockets.NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] header = new byte[9];
        await stream.ReadExactlyAsync(header, timeout.Token);
        byte[] payload = new byte[(header[0] << 16) | (header[1] << 8) | header[2]];
        await stream.ReadExactlyAsync(payload, timeout.Token);
        return (header[3], payload);
    }

    [EtcdctlFact]
    public async Task HostWhitelistAndCors_Flags_AnswerAsEtcds()
    {
        // Plain HTTP naming a host outside --host-whitelist: 421 and etcd's text (gRPC is not
        // affected); CORS headers only for an origin in --cors (etcd takes host:port URLs there).
        string[] args = ["--host-whitelist", "example.com,localhost", "--cors", "http://a.example:8080"];
        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("exe-access", args);
        (int Status, string Body, string? AllowedOrigin, string? OtherOrigin) oursAnswers = await AskAsync(ours.ClientUrl);
        Assert.Equal(421, oursAnswers.Status);
        Assert.Contains("etcd received your request, but the Host header was unrecognized.", oursAnswers.Body, StringComparison.Ordinal);
        Assert.Equal("http://a.example:8080", oursAnswers.AllowedOrigin);
        Assert.Null(oursAnswers.OtherOrigin);
        Assert.Equal("OK\n", await new Etcdctl(ours.ClientUrl).OkAsync("put", "access/k", "v"));
        if (File.Exists(Binaries.RealEtcd))
        {
            await using EtcdProcess real = await EtcdProcess.StartRealAsync("exe-access-real", args);
            Assert.Equal(await AskAsync(real.ClientUrl), oursAnswers);
        }

        static async Task<(int, string, string?, string?)> AskAsync(Uri clientUrl)
        {
            using var http = new HttpClient { BaseAddress = clientUrl };
            using HttpResponseMessage refused = await http.GetAsync(new Uri("/version", UriKind.Relative));
            string body = await refused.Content.ReadAsStringAsync();
            return ((int)refused.StatusCode, body, await OriginAsync("http://a.example:8080"), await OriginAsync("http://b.example"));

            async Task<string?> OriginAsync(string origin)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/version", UriKind.Relative));
                request.Headers.Host = "example.com";
                request.Headers.Add("Origin", origin);
                using HttpResponseMessage response = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return response.Headers.TryGetValues("Access-Control-Allow-Origin", out IEnumerable<string>? values) ? string.Join(',', values) : null;
            }
        }
    }

    [Fact]
    public async Task Version_PrintsEtcdsVersionLines()
    {
        CommandResult result = (await Command.RunAsync(Binaries.OurEtcd, ["--version"], s_processTimeout)).EnsureSuccess("etcd --version");
        Assert.StartsWith("etcd Version: 3.4.23\nGit SHA: ", result.Stdout, StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task Tls_ClientCertAuth_EtcdctlWithCertificatesOnly()
    {
        using TestDirectory directory = TestDirectory.Create("exe-tls");
        Pki pki = Pki.Create(directory);
        int[] ports = FreePorts.Next(2);
        string client = $"https://127.0.0.1:{ports[0]}";
        await using EtcdProcess etcd = await EtcdProcess.StartOursAsync(
            "exe-tls-data",
            [
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--cert-file", pki.ServerCert, "--key-file", pki.ServerKey,
                "--trusted-ca-file", pki.CaCert, "--client-cert-auth",
            ]);
        var ctl = new Etcdctl(new Uri(client));
        string[] tls = ["--cacert", pki.CaCert, "--cert", pki.ClientCert, "--key", pki.ClientKey];
        Assert.Equal("OK\n", await ctl.OkAsync([.. tls, "put", "tls/k", "v"]));
        Assert.Equal("tls/k\nv\n", await ctl.OkAsync([.. tls, "get", "tls/k"]));
        JsonStatus(await ctl.OkAsync([.. tls, "endpoint", "status", "-w", "json"]));

        // With auth on, the verified certificate's CN (root) is the user: no --user needed.
        await ctl.OkAsync([.. tls, "user", "add", "root:rootpw", "--interactive=false"]);
        Assert.Equal("Authentication Enabled\n", await ctl.OkAsync([.. tls, "auth", "enable"]));
        Assert.Equal("OK\n", await ctl.OkAsync([.. tls, "put", "tls/k", "as-root"]));
        Assert.Equal("tls/k\nas-root\n", await ctl.OkAsync([.. tls, "get", "tls/k"]));

        CommandResult withoutCert = await ctl.RunAsync("--cacert", pki.CaCert, "--dial-timeout", "3s", "--command-timeout", "5s", "get", "tls/k");
        Assert.NotEqual(0, withoutCert.ExitCode);
    }

    [EtcdctlFact]
    public async Task AutoTls_GeneratesAServerCertificate_AndKeepsItOnRestart()
    {
        // As etcd 3.4: https client URLs without --cert-file/--key-file get a self-signed pair in
        // <data-dir>/fixtures/client; etcdctl connects when told to skip verification.
        await CheckAsync(args => EtcdProcess.StartOursAsync("exe-autotls", args), restart: true);
        if (File.Exists(Binaries.RealEtcd))
        {
            await CheckAsync(args => EtcdProcess.StartRealAsync("exe-autotls-real", args), restart: false);
        }

        static async Task CheckAsync(Func<string[], Task<EtcdProcess>> start, bool restart)
        {
            int port = FreePorts.Next(1)[0];
            string client = $"https://127.0.0.1:{port}";
            using TestDirectory directory = TestDirectory.Create("exe-autotls-data");
            string dataDir = directory.Combine("data");
            string[] args = ["--auto-tls", "--listen-client-urls", client, "--advertise-client-urls", client, "--data-dir", dataDir];
            var ctl = new Etcdctl(new Uri(client));
            string[] insecure = ["--insecure-transport=false", "--insecure-skip-tls-verify"];
            string certificate;
            await using (EtcdProcess etcd = await start(args))
            {
                Assert.Equal("OK\n", await ctl.OkAsync([.. insecure, "put", "autotls/k", "v"]));
                string certFile = Path.Combine(dataDir, "fixtures", "client", "cert.pem");
                using X509Certificate2 cert = X509Certificate2.CreateFromPem(File.ReadAllText(certFile));
                Assert.Equal("O=etcd", cert.Subject);
                Assert.Contains("127.0.0.1", cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateIPAddresses().Select(a => a.ToString()));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, "fixtures", "client", "key.pem")));
                }
                certificate = File.ReadAllText(certFile);

                // Without skipping verification the self-signed certificate is refused.
                CommandResult verified = await ctl.RunAsync("--insecure-transport=false", "--dial-timeout", "3s", "--command-timeout", "5s", "get", "autotls/k");
                Assert.NotEqual(0, verified.ExitCode);
            }

            if (restart)
            {
                await using EtcdProcess again = await start(args);
                Assert.Equal("autotls/k\nv\n", await ctl.OkAsync([.. insecure, "get", "autotls/k"]));
                Assert.Equal(certificate, File.ReadAllText(Path.Combine(dataDir, "fixtures", "client", "cert.pem")));
            }
        }
    }

    private static void JsonStatus(string output) => Assert.Equal("3.4.23", Json(output)[0].GetProperty("Status").GetProperty("version").GetString());

    /// <summary>A throwaway CA with a server certificate for 127.0.0.1 and a client certificate (CN root), as PEM files.</summary>
    private sealed record Pki(string CaCert, string ServerCert, string ServerKey, string ClientCert, string ClientKey)
    {
        public static Pki Create(TestDirectory directory)
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=platform-test-ca", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            string caPath = Write(directory, "ca.pem", ca.ExportCertificatePem());
            (string serverCert, string serverKey) = Issue(directory, ca, caKey, "server", "CN=127.0.0.1", serverAuth: true);
            (string clientCert, string clientKey) = Issue(directory, ca, caKey, "client", "CN=root", serverAuth: false);
            return new Pki(caPath, serverCert, serverKey, clientCert, clientKey);
        }

        private static (string Cert, string Key) Issue(TestDirectory directory, X509Certificate2 ca, ECDsa caKey, string name, string subject, bool serverAuth)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (serverAuth)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }

            byte[] serial = RandomNumberGenerator.GetBytes(8);
            using X509Certificate2 certificate = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
            return (Write(directory, name + ".pem", certificate.ExportCertificatePem()), Write(directory, name + "-key.pem", key.ExportPkcs8PrivateKeyPem()));
        }

        private static string Write(TestDirectory directory, string name, string pem)
        {
            string path = directory.Combine(name);
            File.WriteAllText(path, pem);
            return path;
        }
    }
}
