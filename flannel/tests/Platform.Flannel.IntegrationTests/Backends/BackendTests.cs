using System.Net;
using Platform.Etcd.Client;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netlink;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Backends;

/// <summary>
/// flanneld with each routing backend on three netns hosts joined by a bridge (see <see cref="NetnsCluster"/>),
/// against our etcd: distinct subnets in flannel's key layout, pods attached by our CNI plugin reach each
/// other across hosts by ICMP and TCP, restart keeps the subnet, a removed host's routes disappear, a lease
/// deleted in etcd stops its flanneld, CNI DEL releases the pods, nothing left behind.
/// </summary>
public sealed class BackendTests : IClassFixture<OurEtcd>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly OurEtcd _etcd;
    private readonly TestDirectory _directory = TestDirectory.Create("flannel-backends");
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/network";

    public BackendTests(OurEtcd etcd)
    {
        _etcd = etcd;
    }

    public void Dispose() => _directory.Dispose();

    [RootTheory("creates network namespaces, veths, bridges, vxlan and tun devices")]
    [InlineData("host-gw")]
    [InlineData("vxlan")]
    [InlineData("udp")]
    public Task ThreeHosts_PodsReachEachOther_RestartKeepsSubnet_RemovedHostRoutesGo(string backend) =>
        ThreeHostScenario.RunAsync(_etcd, backend, _prefix, _directory, s_timeout);

    [RootFact("creates network namespaces and a vxlan device")]
    public async Task Vxlan_DeviceDeleted_IsRecreatedWithPeers()
    {
        Assert.True(_etcd.Available, $"{OurEtcd.ExecutablePath} is missing");
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.61.0.0/16","Backend":{"Type":"vxlan","VNI":7,"Port":4789}}""");
        await using var cluster = new NetnsCluster(_directory, new Uri(_etcd.ClientUrl).Port);
        NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2)];
        await Task.WhenAll(hosts.Select(h => h.StartFlanneldAsync(_prefix, s_timeout)));
        NetnsCluster.Pod[] pods = await Task.WhenAll(hosts.Select(h => h.AddPodAsync()));
        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address), s_timeout));

        Link device = hosts[0].Netlink.GetLink("flannel.7")!;
        Assert.Equal(4789, device.Vxlan!.Port);
        Assert.Equal((uint)7, device.Vxlan.Vni);
        hosts[0].Netlink.DeleteLink(device.Index);

        await hosts[0].Flanneld!.WaitForLogAsync("re-creating it", s_timeout);
        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address), s_timeout), "pods are not reachable after the device was re-created");
        Link recreated = hosts[0].Netlink.GetLink("flannel.7")!;
        Assert.NotEqual(device.Index, recreated.Index);
        Assert.Equal(device.HardwareAddress, recreated.HardwareAddress);
        Assert.Equal("0", hosts[0].Namespace.Run(() => File.ReadAllText("/proc/sys/net/ipv6/conf/flannel.7/accept_ra").Trim()));
    }

    [RootFact("creates network namespaces")]
    public async Task Vxlan_DirectRoutingOnSameL2_RoutesViaPublicIp()
    {
        Assert.True(_etcd.Available, $"{OurEtcd.ExecutablePath} is missing");
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.62.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}""");
        await using var cluster = new NetnsCluster(_directory, new Uri(_etcd.ClientUrl).Port);
        NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2)];
        await Task.WhenAll(hosts.Select(h => h.StartFlanneldAsync(_prefix, s_timeout)));

        string peer = hosts[1].ReadSubnetEnv()["FLANNEL_SUBNET"].Replace(".1/", ".0/", StringComparison.Ordinal);
        Assert.True(await NetnsCluster.EventuallyAsync(() => Task.FromResult(hosts[0].Netlink.GetRoutes().Any(r => $"{r.Destination}/{r.PrefixLength}" == peer)), s_timeout));
        Route route = hosts[0].Netlink.GetRoutes().Single(r => $"{r.Destination}/{r.PrefixLength}" == peer);
        Assert.Equal(IPAddress.Parse("10.250.0.2"), route.Gateway);
        Assert.False(route.OnLink);
        Assert.DoesNotContain(hosts[0].Netlink.GetFdb(hosts[0].Netlink.GetLink("flannel.1")!.Index), f => f.Destination is not null);
        NetnsCluster.Pod[] pods = await Task.WhenAll(hosts.Select(h => h.AddPodAsync()));
        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address), s_timeout));
    }

    [RootFact("creates network namespaces")]
    public async Task HostGw_PublicIpNotOnInterface_RefusesWithFlannelsMessage()
    {
        Assert.True(_etcd.Available, $"{OurEtcd.ExecutablePath} is missing");
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.63.0.0/16","Backend":{"Type":"host-gw"}}""");
        await using var cluster = new NetnsCluster(_directory, new Uri(_etcd.ClientUrl).Port);
        NetnsCluster.Host host = cluster.AddHost(1);
        await using Flanneld flanneld = Flanneld.Start(
            [$"--etcd-endpoints={NetnsCluster.EtcdEndpoint}", $"--etcd-prefix={_prefix}", "--iface=eth0", "--public-ip=192.0.2.7", $"--subnet-file={host.SubnetFile}"],
            ns: host.Namespace);

        Assert.Equal(1, await flanneld.WaitForExitAsync(s_timeout));
        Assert.Contains("your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend", flanneld.Log, StringComparison.Ordinal);
        Assert.Empty((await _etcd.Client.Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
    }
}
