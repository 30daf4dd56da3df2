using System.Net;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;

namespace Platform.Flannel.Bench;

/// <summary>
/// The host-gw ceiling: two more hosts on the cluster's switch whose pod path is built by hand through our
/// rtnetlink, with no flanneld, no CNI plugin and no iptables rule: per host a <c>cni0</c> bridge holding
/// the subnet's gateway address, one pod whose <c>eth0</c> is a veth enslaved to it (default route and the
/// cluster network via the gateway, as host-local's result gives a pod), and one route
/// <c>peer subnet via peer PublicIP dev eth0</c>, which is all host-gw programs. Same kernel path as a
/// host-gw pod, so its throughput is what any flannel can reach on this kernel.
/// </summary>
internal static class KernelOnlyPath
{
    private const string Network = "10.71.0.0";

    /// <summary>Adds hosts <paramref name="a"/> and <paramref name="b"/> (one pod each) and routes their subnets 10.71.&lt;n&gt;.0/24 to each other.</summary>
    public static (NetnsCluster.Pod A, NetnsCluster.Pod B) Build(NetnsCluster cluster, int a, int b)
    {
        NetnsCluster.Host hostA = cluster.AddHost(a), hostB = cluster.AddHost(b);
        NetnsCluster.Pod podA = AddPod(cluster, hostA), podB = AddPod(cluster, hostB);
        Route(hostA, hostB);
        Route(hostB, hostA);
        return (podA, podB);
    }

    private static NetnsCluster.Pod AddPod(NetnsCluster cluster, NetnsCluster.Host host)
    {
        IPAddress gateway = IPAddress.Parse($"10.71.{host.N}.1"), address = IPAddress.Parse($"10.71.{host.N}.2");
        Link bridge = host.Netlink.AddBridge("cni0");
        host.Netlink.AddAddress(new InterfaceAddress(bridge.Index, gateway, 24));
        host.Netlink.SetLinkUp(bridge.Index, true);

        string id = $"h{host.N}-kernel-pod";
        NetworkNamespace ns = cluster.NewNamespace(id);
        Link port = host.Netlink.AddVeth("veth0", "eth0", ns);
        host.Netlink.SetMaster(port.Index, bridge.Index);
        host.Netlink.SetLinkUp(port.Index, true);

        IRtNetlink pod = cluster.Track(RtNetlink.Open(ns));
        pod.SetLinkUp(pod.GetLink("lo")!.Index, true);
        Link eth0 = pod.GetLink("eth0")!;
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
}
