using System.Net;
using Platform.Etcd.Client;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests;

/// <summary>The flanneld executable end to end against the real etcd 3.4, with the alloc backend.</summary>
public sealed class FlanneldTests : IClassFixture<RealEtcd>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly RealEtcd _etcd;
    private readonly TestDirectory _directory = TestDirectory.Create("flanneld");
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/network";

    public FlanneldTests(RealEtcd etcd)
    {
        _etcd = etcd;
    }

    private string SubnetEnv => _directory.Combine("run", "flannel", "subnet.env");

    public void Dispose() => _directory.Dispose();

    [RealEtcdFact]
    public async Task Flanneld_StartWriteSubnetEnvHealthzSigterm_KeepsLeaseAndReusesItOnRestart()
    {
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.7.0.0/16","Backend":{"Type":"alloc"}}""");
        int healthPort = FreePorts.Next();

        string firstSubnetEnv;
        KeyValue lease;
        await using (Flanneld flanneld = Start(healthPort))
        {
            await flanneld.WaitForLogAsync("Wrote subnet file", s_timeout);

            firstSubnetEnv = File.ReadAllText(SubnetEnv);
            lease = Assert.Single((await _etcd.Client.Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
            string key = lease.KeyString[(_prefix + "/subnets/").Length..];
            Assert.Matches(@"^10\.7\.\d+\.0-24$", key);
            string subnetFirstIp = key.Replace(".0-24", ".1/24", StringComparison.Ordinal);
            string mtu = File.ReadAllText("/sys/class/net/lo/mtu").Trim();
            Assert.Equal($"FLANNEL_NETWORK=10.7.0.0/16\nFLANNEL_SUBNET={subnetFirstIp}\nFLANNEL_MTU={mtu}\nFLANNEL_IPMASQ=false\n", firstSubnetEnv);
            // The alloc backend sets no BackendType (flannel's pkg/backend/alloc).
            Assert.Equal("""{"PublicIP":"10.99.0.1","PublicIPv6":null}""", lease.ValueString);
            Assert.NotEqual(0, lease.Lease);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            // Ready only once subnet.env is written AND the backend has programmed the first peer snapshot.
            await flanneld.WaitForLogAsync("programmed; ready", s_timeout);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

            Assert.Equal(0, await flanneld.TerminateAsync(s_timeout));
        }

        // flannel keeps the lease on shutdown so the next start gets the same subnet.
        KeyValue kept = Assert.Single((await _etcd.Client.Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
        Assert.Equal(lease.KeyString, kept.KeyString);
        Assert.Equal(lease.Lease, kept.Lease);

        await using (Flanneld again = Start(FreePorts.Next()))
        {
            await again.WaitForLogAsync("Wrote subnet file", s_timeout);

            Assert.Equal(firstSubnetEnv, File.ReadAllText(SubnetEnv));
            KeyValue reused = Assert.Single((await _etcd.Client.Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
            Assert.Equal(lease.KeyString, reused.KeyString);
            Assert.Equal(0, await again.TerminateAsync(s_timeout));
        }
    }

    [RealEtcdFact]
    public async Task Flanneld_OwnLeaseDeletedInEtcd_ExitsWithRevokedMessage()
    {
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.8.0.0/16","Backend":{"Type":"alloc"}}""");
        await using Flanneld flanneld = Start(FreePorts.Next());
        await flanneld.WaitForLogAsync("Running backend.", s_timeout);

        await _etcd.Client.Kv.DeletePrefixAsync(_prefix + "/subnets/");

        Assert.Equal(1, await flanneld.WaitForExitAsync(s_timeout));
        Assert.Contains("Lease has been revoked. Shutting down daemon.", flanneld.Log, StringComparison.Ordinal);
    }

    [RealEtcdFact]
    public async Task Flanneld_ConfigAppearsLater_WaitsThenStarts()
    {
        // Everything through FLANNELD_* variables this time (flagutil.SetFlagsFromEnv).
        await using Flanneld flanneld = Flanneld.Start([], new Dictionary<string, string>
        {
            ["FLANNELD_ETCD_ENDPOINTS"] = _etcd.ClientUrl,
            ["FLANNELD_ETCD_PREFIX"] = _prefix,
            ["FLANNELD_SUBNET_FILE"] = SubnetEnv,
            ["FLANNELD_IFACE"] = "lo",
            ["FLANNELD_PUBLIC_IP"] = "10.99.0.2",
        });
        await flanneld.WaitForLogAsync("flannel config not found in etcd store", s_timeout);

        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.9.0.0/16","Backend":{"Type":"alloc"}}""");

        await flanneld.WaitForLogAsync("Wrote subnet file", s_timeout);
        string env = File.ReadAllText(SubnetEnv);
        Assert.Contains("FLANNEL_NETWORK=10.9.0.0/16", env, StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPMASQ=false", env, StringComparison.Ordinal);
        KeyValue lease = Assert.Single((await _etcd.Client.Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
        Assert.Equal("""{"PublicIP":"10.99.0.2","PublicIPv6":null}""", lease.ValueString);
    }

    [RealEtcdFact]
    public async Task Flanneld_SigtermWhileEtcdRequestHangs_ExitsZero()
    {
        // The "etcd" here accepts connections and never answers, so a request is surely pending
        // when the signal arrives; shutdown must still be clean and quick.
        using var blackHole = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new List<System.Net.Sockets.TcpClient>();
        Task<System.Net.Sockets.TcpClient> firstConnection = blackHole.AcceptTcpClientAsync();
        await using Flanneld flanneld = Flanneld.Start(
        [
            "--etcd-endpoints", $"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}",
            "--subnet-file", SubnetEnv,
            "--iface", "lo",
        ]);
        try
        {
            accepted.Add(await firstConnection.WaitAsync(s_timeout));

            Assert.Equal(0, await flanneld.TerminateAsync(s_timeout));
            Assert.Contains("Exiting cleanly", flanneld.Log, StringComparison.Ordinal);
            Assert.False(File.Exists(SubnetEnv));
        }
        finally
        {
            accepted.ForEach(c => c.Dispose());
        }
    }

    [RealEtcdFact]
    public async Task Flanneld_UnknownBackend_ExitsWithFlannelsMessage()
    {
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.10.0.0/16","Backend":{"Type":"nosuch"}}""");
        await using Flanneld flanneld = Start(FreePorts.Next());

        Assert.Equal(1, await flanneld.WaitForExitAsync(s_timeout));
        Assert.Contains("unknown backend type: nosuch", flanneld.Log, StringComparison.Ordinal);
    }

    private Flanneld Start(int healthPort) => Flanneld.Start(
    [
        "--etcd-endpoints", _etcd.ClientUrl,
        "--etcd-prefix", _prefix,
        "--subnet-file", SubnetEnv,
        "--iface", "127.0.0.1",
        "--public-ip", "10.99.0.1",
        "--healthz-ip", "127.0.0.1",
        "--healthz-port", healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ]);
}
