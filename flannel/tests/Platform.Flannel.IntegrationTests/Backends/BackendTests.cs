using System.Globalization;
using System.Net;
using Platform.Etcd.Client;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Backends;

/// <summary>
/// flanneld with each routing backend on three netns hosts joined by a bridge (see <see cref="NetnsCluster"/>),
/// against the real etcd 3.4: distinct subnets, pod-to-pod ICMP and TCP across hosts, restart keeps the
/// subnet, a removed host's routes disappear, a lease deleted in etcd stops its flanneld, nothing left behind.
/// </summary>
public sealed class BackendTests : IClassFixture<RealEtcd>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly RealEtcd _etcd;
    private readonly TestDirectory _directory = TestDirectory.Create("flannel-backends");
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/network";

    public BackendTests(RealEtcd etcd)
    {
        _etcd = etcd;
    }

    public void Dispose() => _directory.Dispose();

    [RootTheory("creates network namespaces, veths, bridges, vxlan and tun devices")]
    [InlineData("host-gw")]
    [InlineData("vxlan")]
    [InlineData("udp")]
    public async Task ThreeHosts_PodsReachEachOther_RestartKeepsSubnet_RemovedHostRoutesGo(string backend)
    {
        Assert.True(File.Exists(EtcdMember.RealEtcdPath), "the real etcd (etcd-server) is needed");
        string[] rootLinksBefore = RootLinks();
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", $$$"""{"Network":"10.60.0.0/16","Backend":{"Type":"{{{backend}}}"}}""");
        int etcdPort = new Uri(_etcd.ClientUrl).Port;

        await using (var cluster = new NetnsCluster(_directory, etcdPort))
        {
            NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2), cluster.AddHost(3)];
            await Task.WhenAll(hosts.Select(h => h.StartFlanneldAsync(_prefix, s_timeout)));

            string[] subnets = hosts.Select(h => h.ReadSubnetEnv()["FLANNEL_SUBNET"]).ToArray();
            Assert.Equal(3, subnets.Distinct().Count());
            int expectedMtu = backend switch { "vxlan" => 1450, "udp" => 1472, _ => 1500 };
            Assert.All(hosts, h => Assert.Equal(expectedMtu.ToString(CultureInfo.InvariantCulture), h.ReadSubnetEnv()["FLANNEL_MTU"]));
            // Each host was ready after its first snapshot; peers that came later arrive through the watch.
            await AssertKernelStateAsync(backend, hosts);

            (NetworkNamespace Ns, IPAddress Address)[] pods = hosts.Select(h => h.AddPod()).ToArray();
            for (int from = 0; from < 3; from++)
            {
                for (int to = 0; to < 3; to++)
                {
                    if (from != to)
                    {
                        (NetworkNamespace ns, IPAddress target) = (pods[from].Ns, pods[to].Address);
                        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(ns, target), s_timeout), $"{backend}: pod on h{from + 1} cannot ping {target} on h{to + 1}");
                    }
                }
            }

            byte[] payload = new byte[256 * 1024];
            Random.Shared.NextBytes(payload);
            Assert.Equal(payload, await NetnsCluster.TcpEchoAsync(pods[1].Ns, pods[1].Address, pods[0].Ns, payload));

            // A restarted host keeps its subnet (same PublicIP, and the old subnet.env).
            Assert.Equal(0, await hosts[0].Flanneld!.TerminateAsync(s_timeout));
            await hosts[0].StartFlanneldAsync(_prefix, s_timeout);
            Assert.Equal(subnets[0], hosts[0].ReadSubnetEnv()["FLANNEL_SUBNET"]);
            Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[2].Address), s_timeout));

            // A removed host: its flanneld stops and its lease goes (as when it expires); the others drop its routes.
            Assert.Equal(0, await hosts[2].Flanneld!.TerminateAsync(s_timeout));
            string removedKey = $"{_prefix}/subnets/{subnets[2].Replace(".1/", ".0-", StringComparison.Ordinal)}";
            Assert.Equal(1, (await _etcd.Client.Kv.DeleteAsync(removedKey)).Deleted);
            string removedSubnet = subnets[2].Replace(".1/", ".0/", StringComparison.Ordinal);
            foreach (NetnsCluster.Host host in hosts[..2])
            {
                await host.Flanneld!.WaitForLogAsync($"Subnet removed: {removedSubnet}", s_timeout);
                Assert.True(await NetnsCluster.EventuallyAsync(() => Task.FromResult(!HasPeerState(backend, host, removedSubnet)), s_timeout), $"{backend}: h{host.N} still routes {removedSubnet}");
            }

            Assert.False(await NetnsCluster.PingAsync(pods[0].Ns, pods[2].Address));

            // A lease deleted in etcd while its flanneld runs stops that flanneld.
            string key2 = $"{_prefix}/subnets/{subnets[1].Replace(".1/", ".0-", StringComparison.Ordinal)}";
            Assert.Equal(1, (await _etcd.Client.Kv.DeleteAsync(key2)).Deleted);
            Assert.Equal(1, await hosts[1].Flanneld!.WaitForExitAsync(s_timeout));
            Assert.Contains("Lease has been revoked. Shutting down daemon.", hosts[1].Flanneld!.Log, StringComparison.Ordinal);
        }

        // Nothing left behind: no namespace mounts, no new links in the root namespace.
        Assert.DoesNotContain(_directory.Path, File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
        // (Other suites may add links of their own to the root namespace meanwhile: look only for names of ours.)
        Assert.DoesNotContain(RootLinks().Except(rootLinksBefore), name => System.Text.RegularExpressions.Regex.IsMatch(name, @"^(br0|cni0|flannel.*|port\d+|veth\d+|eth0)$"));
    }

    [RootFact("creates network namespaces and a vxlan device")]
    public async Task Vxlan_DeviceDeleted_IsRecreatedWithPeers()
    {
        Assert.True(File.Exists(EtcdMember.RealEtcdPath), "the real etcd (etcd-server) is needed");
        await _etcd.Client.Kv.PutAsync(_prefix + "/config", """{"Network":"10.61.0.0/16","Backend":{"Type":"vxlan","VNI":7,"Port":4789}}""");
        await using var cluster = new NetnsCluster(_directory, new Uri(_etcd.ClientUrl).Port);
        NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2)];
        await Task.WhenAll(hosts.Select(h => h.StartFlanneldAsync(_prefix, s_timeout)));
        (NetworkNamespace Ns, IPAddress Address)[] pods = hosts.Select(h => h.AddPod()).ToArray();
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
        Assert.True(File.Exists(EtcdMember.RealEtcdPath), "the real etcd (etcd-server) is needed");
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
        (NetworkNamespace Ns, IPAddress Address)[] pods = hosts.Select(h => h.AddPod()).ToArray();
        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address), s_timeout));
    }

    [RootFact("creates network namespaces")]
    public async Task HostGw_PublicIpNotOnInterface_RefusesWithFlannelsMessage()
    {
        Assert.True(File.Exists(EtcdMember.RealEtcdPath), "the real etcd (etcd-server) is needed");
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

    private static string[] RootLinks()
    {
        using IRtNetlink root = RtNetlink.Open();
        return [.. root.GetLinks().Select(l => l.Name).Order(StringComparer.Ordinal)];
    }

    private static async Task AssertKernelStateAsync(string backend, NetnsCluster.Host[] hosts)
    {
        foreach (NetnsCluster.Host host in hosts)
        {
            foreach (NetnsCluster.Host peer in hosts.Where(p => p != host))
            {
                string subnet = peer.ReadSubnetEnv()["FLANNEL_SUBNET"].Replace(".1/", ".0/", StringComparison.Ordinal);
                Assert.True(await NetnsCluster.EventuallyAsync(() => Task.FromResult(HasPeerState(backend, host, subnet)), s_timeout), $"{backend}: h{host.N} has no route to {subnet}");
            }
        }
    }

    /// <summary>Whether <paramref name="host"/> has the kernel state for peer <paramref name="subnet"/> (udp keeps it in userspace: true).</summary>
    private static bool HasPeerState(string backend, NetnsCluster.Host host, string subnet)
    {
        IRtNetlink nl = host.Netlink;
        Route? route = nl.GetRoutes().SingleOrDefault(r => $"{r.Destination}/{r.PrefixLength}" == subnet);
        string peerZero = subnet.Split('/')[0];
        switch (backend)
        {
            case "host-gw":
                return route is not null && route.Gateway is not null && route.OutputIndex == nl.GetLink("eth0")!.Index;
            case "vxlan":
                Link device = nl.GetLink("flannel.1")!;
                bool neighbour = nl.GetNeighbours(device.Index).Any(n => n.Address.ToString() == peerZero && n.State.HasFlag(NeighbourState.Permanent));
                bool fdb = nl.GetFdb(device.Index).Any(f => f.Destination is not null);
                bool routed = route is not null && route.OnLink && route.Gateway?.ToString() == peerZero && route.OutputIndex == device.Index;
                return routed && neighbour && fdb;
            default:
                // udp: the peer table is in userspace; "Subnet added" is logged by the backend once it is in the table.
                return host.Flanneld is { } f && f.Log.Contains($"Subnet added: {subnet}", StringComparison.Ordinal)
                    && !f.Log.Contains($"Subnet removed: {subnet}", StringComparison.Ordinal);
        }
    }
}
