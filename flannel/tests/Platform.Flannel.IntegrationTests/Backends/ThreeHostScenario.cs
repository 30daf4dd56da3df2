using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Platform.Etcd.Client;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netlink;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Backends;

/// <summary>
/// The three-host scenario of a backend, written once and run against our etcd (<see cref="BackendTests"/>)
/// and the real etcd 3.4 (<see cref="RealEtcdBackendTests"/>): flanneld on three netns hosts, flannel's
/// key layout in etcd, pods attached by our CNI plugin reach each other across hosts by ICMP and TCP,
/// restart keeps the subnet, a removed host's routes go, a deleted lease stops its flanneld, CNI DEL
/// releases every pod, nothing of ours is left in the root namespace.
/// </summary>
internal static partial class ThreeHostScenario
{
    public static async Task RunAsync(EtcdFixture etcd, string backend, string prefix, TestDirectory directory, TimeSpan timeout)
    {
        Assert.True(etcd.Available, $"{etcd.Description} is missing");
        string[] rootLinksBefore = RootLinks();
        await etcd.Client.Kv.PutAsync(prefix + "/config", $$$"""{"Network":"10.60.0.0/16","Backend":{"Type":"{{{backend}}}"}}""");
        int etcdPort = new Uri(etcd.ClientUrl).Port;

        await using (var cluster = new NetnsCluster(directory, etcdPort))
        {
            NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2), cluster.AddHost(3)];
            await Task.WhenAll(hosts.Select(h => h.StartFlanneldAsync(prefix, timeout)));

            string[] subnets = hosts.Select(h => h.ReadSubnetEnv()["FLANNEL_SUBNET"]).ToArray();
            Assert.Equal(3, subnets.Distinct().Count());
            int expectedMtu = backend switch { "vxlan" => 1450, "udp" => 1472, _ => 1500 };
            Assert.All(hosts, h => Assert.Equal(expectedMtu.ToString(CultureInfo.InvariantCulture), h.ReadSubnetEnv()["FLANNEL_MTU"]));
            await AssertLeasesAsync(etcd, backend, prefix, hosts, subnets);
            // Each host was ready after its first snapshot; peers that came later arrive through the watch.
            await AssertKernelStateAsync(backend, hosts, timeout);

            // Pods as a runtime attaches them: CNI ADD of our plugin, delegating to bridge + host-local.
            NetnsCluster.Pod[] pods = await Task.WhenAll(hosts.Select(h => h.AddPodAsync()));
            for (int i = 0; i < 3; i++)
            {
                string gateway = subnets[i].Split('/')[0];
                Assert.Matches($@"^{Regex.Escape(gateway[..gateway.LastIndexOf('.')])}\.\d+/24$", pods[i].Cidr);
                Assert.NotEqual(gateway, pods[i].Address.ToString());
                using IRtNetlink pod = RtNetlink.Open(pods[i].Ns);
                Assert.Equal(expectedMtu, pod.GetLink("eth0")!.Mtu);
            }

            for (int from = 0; from < 3; from++)
            {
                for (int to = 0; to < 3; to++)
                {
                    if (from != to)
                    {
                        (NetnsCluster.Pod source, NetnsCluster.Pod target) = (pods[from], pods[to]);
                        Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(source.Ns, target.Address), timeout), $"{backend}: pod on h{from + 1} cannot ping {target.Address} on h{to + 1}");
                    }
                }
            }

            // TCP across hosts, both ways round the ring; the server sees the client pod's own address (no NAT).
            byte[] payload = new byte[256 * 1024];
            Random.Shared.NextBytes(payload);
            foreach ((int server, int client) in new[] { (1, 0), (0, 2) })
            {
                (byte[] received, IPAddress peer) = await WithLogsOnFailure(hosts, pods, () => NetnsCluster.TcpTransferAsync(pods[server].Ns, pods[server].Address, pods[client].Ns, payload), $"{backend}: TCP from h{client + 1}'s pod to h{server + 1}'s");
                Assert.Equal(payload, received);
                Assert.Equal(pods[client].Address, peer);
            }

            // A restarted host keeps its subnet (same PublicIP, and the old subnet.env).
            Assert.Equal(0, await hosts[0].Flanneld!.TerminateAsync(timeout));
            await hosts[0].StartFlanneldAsync(prefix, timeout);
            Assert.Equal(subnets[0], hosts[0].ReadSubnetEnv()["FLANNEL_SUBNET"]);
            Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[2].Address), timeout));

            // A removed host: its flanneld stops and its lease goes (as when it expires); the others drop its routes.
            Assert.Equal(0, await hosts[2].Flanneld!.TerminateAsync(timeout));
            Assert.Equal(1, (await etcd.Client.Kv.DeleteAsync(KeyOf(prefix, subnets[2]))).Deleted);
            string removedSubnet = subnets[2].Replace(".1/", ".0/", StringComparison.Ordinal);
            foreach (NetnsCluster.Host host in hosts[..2])
            {
                await host.Flanneld!.WaitForLogAsync($"Subnet removed: {removedSubnet}", timeout);
                Assert.True(await NetnsCluster.EventuallyAsync(() => Task.FromResult(!HasPeerState(backend, host, removedSubnet)), timeout), $"{backend}: h{host.N} still routes {removedSubnet}");
            }

            Assert.False(await NetnsCluster.PingAsync(pods[0].Ns, pods[2].Address));

            // A lease deleted in etcd while its flanneld runs stops that flanneld.
            Assert.Equal(1, (await etcd.Client.Kv.DeleteAsync(KeyOf(prefix, subnets[1]))).Deleted);
            Assert.Equal(1, await hosts[1].Flanneld!.WaitForExitAsync(timeout));
            Assert.Contains("Lease has been revoked. Shutting down daemon.", hosts[1].Flanneld!.Log, StringComparison.Ordinal);

            // CNI DEL (from the saved delegate config; flanneld need not run): veth, address and reservation released.
            for (int i = 0; i < 3; i++)
            {
                (int code, string stdout, string stderr) = await hosts[i].DeletePodAsync(pods[i]);
                Assert.True(code == 0, $"CNI DEL of {pods[i].ContainerId} exited {code}: {stdout} {stderr}");
                using (IRtNetlink pod = RtNetlink.Open(pods[i].Ns))
                {
                    Assert.Null(pod.GetLink("eth0"));
                }

                Link bridge = hosts[i].Netlink.GetLink("cni0")!;
                Assert.DoesNotContain(hosts[i].Netlink.GetLinks(), l => l.MasterIndex == bridge.Index);
                Assert.False(File.Exists(hosts[i].IpamReservation(pods[i].Address)), $"host-local still reserves {pods[i].Address}");
            }
        }

        // Nothing left behind: no namespace mounts, no new links in the root namespace.
        Assert.DoesNotContain(directory.Path, File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
        // (Other suites may add links of their own to the root namespace meanwhile: look only for names of ours.
        // The bridge plugin's veth names, veth + 8 hex digits, are everybody's: ours were made inside the hosts.)
        Assert.DoesNotContain(RootLinks().Except(rootLinksBefore), name => OurLinkName().IsMatch(name));
    }

    /// <summary>Runs <paramref name="action"/>; a failure carries every host's flanneld log.</summary>
    private static async Task<T> WithLogsOnFailure<T>(NetnsCluster.Host[] hosts, NetnsCluster.Pod[] pods, Func<Task<T>> action, string what)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException)
        {
            string logs = string.Join("\n", hosts.Select(h => $"--- h{h.N} flanneld:\n{h.Flanneld?.Log}\n{Counters(h.Namespace)}"));
            string podCounters = string.Join("\n", pods.Select(p => $"--- pod {p.ContainerId}:\n{Counters(p.Ns)}"));
            throw new InvalidOperationException($"{what} failed: {e.Message}\n{logs}\n{podCounters}", e);
        }
    }

    /// <summary>The kernel's packet counters of a namespace (/proc/thread-self/net: the thread's namespace, not the process's).</summary>
    private static string Counters(Platform.Linux.Netns.NetworkNamespace ns) => ns.Run(() =>
        string.Join("\n", new[] { "snmp", "netstat", "dev" }.Select(f => File.ReadAllText($"/proc/thread-self/net/{f}"))));

    /// <summary>flannel's layout: <c>subnets/10.60.N.0-24</c> on a 24 h lease, value as flannel writes it.</summary>
    private static async Task AssertLeasesAsync(EtcdFixture etcd, string backend, string prefix, NetnsCluster.Host[] hosts, string[] subnets)
    {
        IReadOnlyList<KeyValue> kvs = (await etcd.Client.Kv.GetPrefixAsync(prefix + "/subnets/")).Kvs;
        Assert.Equal(3, kvs.Count);
        for (int i = 0; i < 3; i++)
        {
            KeyValue kv = Assert.Single(kvs, k => k.KeyString == KeyOf(prefix, subnets[i]));
            Assert.Matches(@"/subnets/10\.60\.\d+\.0-24$", kv.KeyString);
            string expected = backend switch
            {
                "vxlan" => $$$"""{"PublicIP":"{{{hosts[i].PublicIP}}}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"{{{MacOf(hosts[i].Netlink.GetLink("flannel.1")!)}}}"}}""",
                "udp" => $$"""{"PublicIP":"{{hosts[i].PublicIP}}","PublicIPv6":null}""",
                _ => $$"""{"PublicIP":"{{hosts[i].PublicIP}}","PublicIPv6":null,"BackendType":"{{backend}}"}""",
            };
            Assert.Equal(expected, kv.ValueString);
            LeaseTimeToLiveResult ttl = await etcd.Client.Lease.TimeToLiveAsync(kv.Lease);
            Assert.Equal(24 * 60 * 60, ttl.GrantedTtlSeconds);
        }
    }

    private static string MacOf(Link link) => string.Join(':', link.HardwareAddress!.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    private static string KeyOf(string prefix, string subnetEnvSubnet) =>
        $"{prefix}/subnets/{subnetEnvSubnet.Replace(".1/", ".0-", StringComparison.Ordinal)}";

    [GeneratedRegex(@"^(br0|cni0|flannel.*|port\d+|eth0)$")]
    private static partial Regex OurLinkName();

    private static string[] RootLinks()
    {
        using IRtNetlink root = RtNetlink.Open();
        return [.. root.GetLinks().Select(l => l.Name).Order(StringComparer.Ordinal)];
    }

    private static async Task AssertKernelStateAsync(string backend, NetnsCluster.Host[] hosts, TimeSpan timeout)
    {
        foreach (NetnsCluster.Host host in hosts)
        {
            foreach (NetnsCluster.Host peer in hosts.Where(p => p != host))
            {
                string subnet = peer.ReadSubnetEnv()["FLANNEL_SUBNET"].Replace(".1/", ".0/", StringComparison.Ordinal);
                Assert.True(await NetnsCluster.EventuallyAsync(() => Task.FromResult(HasPeerState(backend, host, subnet)), timeout), $"{backend}: h{host.N} has no route to {subnet}");
            }
        }
    }

    /// <summary>Whether <paramref name="host"/> has the kernel state for peer <paramref name="subnet"/> (udp keeps it in userspace: its log).</summary>
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
