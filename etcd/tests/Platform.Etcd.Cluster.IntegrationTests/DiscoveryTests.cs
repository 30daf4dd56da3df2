using Platform.Etcd.Cluster.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Cluster.IntegrationTests;

/// <summary>--discovery: the etcd v2 discovery protocol, with the real etcd 3.4's v2 keys API as the discovery service.</summary>
public sealed class DiscoveryTests
{
    [Fact]
    public async Task Discovery_ThreeMembersFindEachOther_AndAFourthIsTurnedAway()
    {
        using var dir = TestDirectory.Create("etcd-discovery");
        int[] ports = FreePorts.Next(10);
        var service = new ClusterMember(Binaries.RealEtcd, "svc", ports[0], ports[1], dir.Combine("svc"));
        var members = Enumerable.Range(0, 4).Select(i => new ClusterMember(Binaries.OurEtcd, $"d{i}", ports[2 + (2 * i)], ports[3 + (2 * i)], dir.Combine($"d{i}"))).ToList();
        try
        {
            await service.StartAsync($"svc={service.PeerUrl}", "new", "svc", ["--enable-v2"]);
            string url = $"{service.ClientUrl}/v2/keys/discovery/6c007a14875d53d9bf0ef5a6fc0257c8";
            using (var http = new HttpClient())
            using (var size = new FormUrlEncodedContent([new KeyValuePair<string, string>("value", "3")]))
            {
                (await http.PutAsync(new Uri(url + "/_config/size"), size)).EnsureSuccessStatusCode();
            }

            string[] discovery = ["--discovery", url];
            await Task.WhenAll(members.Take(3).Select(m => m.StartAsync(string.Empty, "new", string.Empty, discovery)));
            EtcdctlResult list = await Etcdctl.UntilOkAsync(members[0].ClientUrl, TimeSpan.FromSeconds(30), "member", "list");
            Assert.Equal(3, list.Stdout.Trim().Split('\n').Length);
            Assert.True((await Etcdctl.RunAsync(members[2].ClientUrl, "put", "discovered", "yes")).Ok);
            await ClusterTests.WaitForValueAsync(members[0], "discovered", "yes");

            // The cluster has its size: a late member is refused with etcd's error and exits.
            await members[3].StartAsync(string.Empty, "new", string.Empty, discovery, waitReady: false);
            await members[3].Exited.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains("discovery: cluster is full", members[3].Log, StringComparison.Ordinal);
        }
        finally
        {
            foreach (ClusterMember m in members.Prepend(service))
            {
                await m.KillAsync();
            }
        }
    }
}
