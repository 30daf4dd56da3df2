using Platform.Etcd.Client;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests;

/// <summary>
/// Issue 8: "config errors are reported with flannel's messages". flanneld logs each invalid
/// network config with flannel's wording, keeps retrying every second, and starts once the config
/// is fixed, without restarting.
/// </summary>
public sealed class FlanneldConfigErrorTests : IClassFixture<RealEtcd>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly RealEtcd _etcd;
    private readonly TestDirectory _directory = TestDirectory.Create("flanneld-config");
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/network";

    public FlanneldConfigErrorTests(RealEtcd etcd)
    {
        _etcd = etcd;
    }

    public void Dispose() => _directory.Dispose();

    [RealEtcdFact]
    public async Task Flanneld_InvalidConfigs_FlannelsMessagesThenStartsWhenFixed()
    {
        string subnetEnv = _directory.Combine("subnet.env");
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Backend":{"Type":"alloc"}}""");
        await using Flanneld flanneld = Flanneld.Start(
        [
            "--etcd-endpoints", _etcd.ClientUrl,
            "--etcd-prefix", _prefix,
            "--subnet-file", subnetEnv,
            "--iface", "127.0.0.1",
            "--public-ip", "10.99.0.3",
        ]);

        // Each message is flannel's CheckNetworkConfig wording (logged after main.go's "Couldn't fetch
        // network config: ", whose apostrophe the JSON log escapes).
        (string Config, string Message)[] cases =
        [
            ("""{"Backend":{"Type":"alloc"}}""", "please define a correct Network parameter in the flannel config"),
            ("""{"Network":"10.8.0.0/29","Backend":{"Type":"alloc"}}""", "network is too small. Minimum useful network prefix is /28"),
            ("""{"Network":"10.8.0.0/16","SubnetLen":31,"Backend":{"Type":"alloc"}}""", "SubnetLen must be less than /31"),
            ("""{"Network":"10.8.0.0/16","SubnetMin":"10.9.0.0","Backend":{"Type":"alloc"}}""", "SubnetMin is not in the range of the Network"),
        ];
        foreach ((string config, string message) in cases)
        {
            await _etcd.Client.Kv.PutAsync(_prefix + "/config", config);
            try
            {
                await flanneld.WaitForLogAsync($"network config: {message}", s_timeout);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"no \"{message}\" for {config}:\n{flanneld.Log}");
            }
        }

        Assert.False(File.Exists(subnetEnv));
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.8.0.0/16","Backend":{"Type":"alloc"}}""");
        await flanneld.WaitForLogAsync("Wrote subnet file", s_timeout);
        Assert.Contains("FLANNEL_NETWORK=10.8.0.0/16\n", await File.ReadAllTextAsync(subnetEnv), StringComparison.Ordinal);
        Assert.Equal(0, await flanneld.TerminateAsync(s_timeout));
    }
}
