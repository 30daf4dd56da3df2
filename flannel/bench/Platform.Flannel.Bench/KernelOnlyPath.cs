using System.Net;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;

namespace Platform.Flannel.Bench;

/// <summary>
/// The kernel-only ceilings. host-gw: two more hosts on the cluster's switch whose pod path is built by hand through our
/// rtnetlink, with no flanneld, no CNI plugin and no iptables rule: per host a <c>cni0</c> bridge holding
/// the subnet's gateway address, one pod whose <c>eth0</c> is a veth enslaved to it (default route and the
/// cluster network via the gateway, as host-local's result gives a pod), and one route
/// <c>peer subnet via peer PublicIP dev eth0</c>, which is all host-gw programs. Same kernel path as a
/// host-gw pod, so its throughput is what any flannel can reach on this kernel. vxlan: the same pods
/// (MTU 1450) behind a <c>flannel.1</c> device (VNI 1, port 8472, no learning, local = PublicIP, MTU
/// eth0 − 50, address <c>10.72.&lt;n&gt;.0/32</c>) with, per peer, what flannel's vxlan backend programs: a
/// permanent neighbour (peer VTEP address → its MAC), an FDB entry (MAC → PublicIP) and the route
/// <c>peer subnet via peer VTEP address dev flannel.1 onlink</c>.
/// </summary>
internal static class KernelOnlyPath
{
    private const string Network = "10.71.0.0";
    private const int VxlanOverhead = 50;

    /// <summary>The kernel-only hosts <paramref name="a"/> and <paramref name="b"/> (one pod each) for <paramref name="backend"/>; null for a backend without one.</summary>
    public static (NetnsCluster.Pod A, NetnsCluster.Pod B)? Build(NetnsCluster cluster, string backend, int a, int b)
    {
        if (backend is not ("host-gw" or "vxlan"))
        {
            return null;
        }

        NetnsCluster.Host hostA = cluster.AddHost(a), hostB = cluster.AddHost(b);
        int mtu = backend == "vxlan" ? hostA.Netlink.GetLink("eth0")!.Mtu - VxlanOverhead : 0;
        NetnsCluster.Pod podA = AddPod(cluster, hostA, mtu), podB = AddPod(cluster, hostB, mtu);
        if (backend == "host-gw")
        {
            Route(hostA, hostB);
            Route(hostB, hostA);
        }
        else
        {
            Link vtepA = AddVtep(hostA, mtu), vtepB = AddVtep(hostB, mtu);
            Peer(hostA, vtepA, hostB, vtepB);
            Peer(hostB, vtepB, hostA, vtepA);
        }

        return (podA, podB);
    }

    private static NetnsCluster.Pod AddPod(NetnsCluster cluster, NetnsCluster.Host host, int mtu)
    {
        IPAddress gateway = IPAddress.Parse($"10.71.{host.N}.1"), address = IPAddress.Parse($"10.71.{host.N}.2");
        Link bridge = host.Netlink.AddBridge("cni0");
        host.Netlink.AddAddress(new InterfaceAddress(bridge.Index, gateway, 24));
        host.Netlink.SetLinkUp(bridge.Index, true);

        string id = $"h{host.N}-kernel-pod";
        NetworkNamespace ns = cluster.NewNamespace(id);
        Link port = host.Netlink.AddVeth("veth0", "eth0", ns);
        if (mtu > 0)
        {
            host.Netlink.SetMtu(port.Index, mtu);
        }

        host.Netlink.SetMaster(port.Index, bridge.Index);
        host.Netlink.SetLinkUp(port.Index, true);

        IRtNetlink pod = cluster.Track(RtNetlink.Open(ns));
        pod.SetLinkUp(pod.GetLink("lo")!.Index, true);
        Link eth0 = pod.GetLink("eth0")!;
        if (mtu > 0)
        {
            pod.SetMtu(eth0.Index, mtu);
        }

        pod.AddAddress(new InterfaceAddress(eth0.Index, address, 24));
        pod.SetLinkUp(eth0.Index, true);
        pod.AddRoute(new Route { Destination = IPAddress.Any, PrefixLength = 0, Gateway = gateway, OutputIndex = eth0.Index });
        pod.AddRoute(new Route { Destination = IPAddress.Parse(Network), PrefixLength = 16, Gateway = gateway, OutputIndex = eth0.Index });
        return new NetnsCluster.Pod(id, ns, address, $"{address}/24");
    }

    private static void Route(NetnsCluster.Host from, NetnsCluster.Host to) =>
        from.Netlink.AddRoute(new Route
        {
            Destination = IPAddress.Parse($"10.71.{to.N}.0"),
            PrefixLength = 24,
            Gateway = IPAddress.Parse(to.PublicIP),
            OutputIndex = from.Netlink.GetLink("eth0")!.Index,
        });

    private static IPAddress VtepAddress(NetnsCluster.Host host) => IPAddress.Parse($"10.71.{host.N}.0");

    private static Link AddVtep(NetnsCluster.Host host, int mtu)
    {
        Link vtep = host.Netlink.AddVxlan(new VxlanOptions
        {
            Name = "flannel.1",
            Vni = 1,
            Local = IPAddress.Parse(host.PublicIP),
            DeviceIndex = host.Netlink.GetLink("eth0")!.Index,
            Port = 8472,
            Mtu = mtu,
            HardwareAddress = MacAddresses.RandomLocal(),
        });
        host.Netlink.AddAddress(new InterfaceAddress(vtep.Index, VtepAddress(host), 32));
        host.Netlink.SetLinkUp(vtep.Index, true);
        return host.Netlink.GetLink(vtep.Index)!;
    }

    private static void Peer(NetnsCluster.Host from, Link fromVtep, NetnsCluster.Host to, Link toVtep)
    {
        from.Netlink.ReplaceNeighbour(new Neighbour(fromVtep.Index, VtepAddress(to), toVtep.HardwareAddress));
        from.Netlink.ReplaceFdb(new FdbEntry(fromVtep.Index, toVtep.HardwareAddress!, IPAddress.Parse(to.PublicIP)));
        from.Netlink.AddRoute(new Route
        {
            Destination = IPAddress.Parse($"10.71.{to.N}.0"),
            PrefixLength = 24,
            Gateway = VtepAddress(to),
            OutputIndex = fromVtep.Index,
            OnLink = true,
        });
    }
}
