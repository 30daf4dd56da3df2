using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Rkt.Networking.IntegrationTests;

/// <summary>
/// Real CNI plugins in real namespaces. The tests touch host-wide state (iptables nat table, routes),
/// so they run one at a time, each with its own subnets, bridge names, pod UUIDs and IPAM directory.
/// </summary>
[Collection(nameof(HostNetworkCollection))]
public sealed class PodNetworkingTests
{
    private const string Why = "creates network namespaces, veths, routes and iptables rules";

    [RootFact(Why)]
    public async Task SetupAsync_Default_AddressRouteMasqueradeAndReachableFromHost()
    {
        using var box = new PodSandbox(nameof(SetupAsync_Default_AddressRouteMasqueradeAndReachableFromHost));
        var pod = box.NewPod();

        // rkt's built-in subnet is shared with every other suite that runs pods (IPAM state is per
        // --dir, routes are host-wide): ask for an address high in the range, away from the .2, .3, ...
        // that sequential allocation hands out elsewhere.
        string wanted = $"172.16.28.{Random.Shared.Next(100, 250)}";
        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(pod, $"default:IP={wanted}"), CancellationToken.None);

        NetworkAttachment eth0 = Assert.Single(status.Attachments);
        Assert.Equal(("default", "eth0"), (eth0.NetName, eth0.IfName));
        Assert.StartsWith("172.16.28.", eth0.IPv4Cidr, StringComparison.Ordinal);
        Assert.Equal(wanted + "/24", eth0.IPv4Cidr);
        string ip = eth0.IPv4Cidr.Split('/')[0];
        Assert.Contains($"inet {eth0.IPv4Cidr}", PodSandbox.InNetns(pod.Netns, "ip", "-4", "addr", "show", "dev", "eth0").Output, StringComparison.Ordinal);
        Assert.Contains($"default via {eth0.Gateway} dev eth0", PodSandbox.InNetns(pod.Netns, "ip", "-4", "route").Output, StringComparison.Ordinal);
        Assert.Contains("<LOOPBACK,UP", PodSandbox.InNetns(pod.Netns, "ip", "link", "show", "lo").Output, StringComparison.Ordinal);
        (int exit, string output) = PodSandbox.Run("busybox", "ping", "-c", "1", "-W", "5", ip);
        Assert.True(exit == 0, output);
        Assert.Contains(MasqueradeRule(ip, pod.Uuid), PodSandbox.NatRules().Split('\n'));
        Assert.True(File.Exists(Path.Combine(box.DataDir, "networks", "default", ip)), "host-local keeps its reservation under --dir/networks");

        await box.Networking.TeardownAsync(pod.PodDir, pod.Uuid, CancellationToken.None);

        Assert.DoesNotContain(pod.Uuid, PodSandbox.NatRules(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(box.DataDir, "networks", "default", ip)));
        Assert.False(File.Exists(Path.Combine(pod.PodDir, NetInfo.FileName)));
        Assert.NotEqual(0, PodSandbox.InNetns(pod.Netns, "ip", "link", "show", "eth0").Exit);
    }

    [RootFact(Why)]
    public async Task SetupAsync_UserBridgeNetwork_TwoPodsReachEachOther()
    {
        using var box = new PodSandbox(nameof(SetupAsync_UserBridgeNetwork_TwoPodsReachEachOther));
        box.IsolateDefaultRestricted();
        string subnet = PodSandbox.RandomSubnetPrefix();
        string bridge = "rkt" + Guid.NewGuid().ToString("N")[..8];
        box.WriteNet("10-br.conf", $$$"""{"cniVersion":"0.4.0","name":"br","type":"bridge","bridge":"{{{bridge}}}","ipam":{"type":"host-local","subnet":"{{{subnet}}}.0/24"}}""");
        var a = box.NewPod();
        var b = box.NewPod();
        try
        {
            PodNetworkStatus sa = await box.Networking.SetupAsync(PodSandbox.Request(a, "br"), CancellationToken.None);
            PodNetworkStatus sb = await box.Networking.SetupAsync(PodSandbox.Request(b, "br"), CancellationToken.None);

            // rkt adds default-restricted when default is not asked for, after the user networks.
            Assert.Equal(["br/eth0", "default-restricted/eth1"], sa.Attachments.Select(x => $"{x.NetName}/{x.IfName}"));
            Assert.StartsWith(subnet + ".", sb.Attachments[0].IPv4Cidr, StringComparison.Ordinal);
            string ipB = sb.Attachments[0].IPv4Cidr.Split('/')[0];
            (int exit, string output) = PodSandbox.InNetns(a.Netns, "busybox", "ping", "-c", "1", "-W", "5", ipB);
            Assert.True(exit == 0, output);
        }
        finally
        {
            await box.Networking.TeardownAsync(a.PodDir, a.Uuid, CancellationToken.None);
            await box.Networking.TeardownAsync(b.PodDir, b.Uuid, CancellationToken.None);
            PodSandbox.Run("ip", "link", "del", bridge);
        }
    }

    [RootFact(Why)]
    public async Task SetupAsync_IpArgument_IsHonouredAndReleasedByTeardown()
    {
        using var box = new PodSandbox(nameof(SetupAsync_IpArgument_IsHonouredAndReleasedByTeardown));
        box.IsolateDefaultRestricted();
        string subnet = PodSandbox.RandomSubnetPrefix();
        box.WriteNet("10-p2p.conf", $$$"""{"name":"p2p","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"{{{subnet}}}.0/24"}}""");
        var first = box.NewPod();

        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(first, $"p2p:IP={subnet}.42"), CancellationToken.None);
        Assert.Equal($"{subnet}.42/24", status.Attachments[0].IPv4Cidr);
        await box.Networking.TeardownAsync(first.PodDir, first.Uuid, CancellationToken.None);
        await box.Networking.TeardownAsync(first.PodDir, first.Uuid, CancellationToken.None); // idempotent

        // Released: another pod can take the very same address.
        var second = box.NewPod();
        status = await box.Networking.SetupAsync(PodSandbox.Request(second, $"p2p:IP={subnet}.42"), CancellationToken.None);
        Assert.Equal($"{subnet}.42/24", status.Attachments[0].IPv4Cidr);
        Assert.Equal(["p2p"], NetInfo.Load(second.PodDir).Where(n => n.IfName == "eth0").Select(n => n.NetName));
        await box.Networking.TeardownAsync(second.PodDir, second.Uuid, CancellationToken.None);
    }

    [RootFact(Why)]
    public async Task TeardownAsync_NamespaceAlreadyGone_ReleasesAddressAndMasquerade()
    {
        using var box = new PodSandbox(nameof(TeardownAsync_NamespaceAlreadyGone_ReleasesAddressAndMasquerade));
        box.IsolateDefaultRestricted();
        string subnet = PodSandbox.RandomSubnetPrefix();
        box.WriteNet("10-p2p.conf", $$$"""{"name":"p2p","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"{{{subnet}}}.0/24"}}""");
        var pod = box.NewPod();
        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(pod, "p2p"), CancellationToken.None);
        string ip = status.Attachments[0].IPv4Cidr.Split('/')[0];
        Assert.Contains(pod.Uuid, PodSandbox.NatRules(), StringComparison.Ordinal);

        NetworkNamespace.Delete(pod.Netns);
        await box.Networking.TeardownAsync(pod.PodDir, pod.Uuid, CancellationToken.None);

        Assert.DoesNotContain(pod.Uuid, PodSandbox.NatRules(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(box.DataDir, "networks", "p2p", ip)));
        Assert.False(File.Exists(Path.Combine(pod.PodDir, NetInfo.FileName)));
        await box.Networking.TeardownAsync(pod.PodDir, pod.Uuid, CancellationToken.None);
    }

    [RootFact(Why)]
    public async Task SetupAsync_SecondNetworkFails_FirstIsUndoneAndPluginMessageSurfaces()
    {
        using var box = new PodSandbox(nameof(SetupAsync_SecondNetworkFails_FirstIsUndoneAndPluginMessageSurfaces));
        box.IsolateDefaultRestricted();
        string good = PodSandbox.RandomSubnetPrefix();
        box.WriteNet("10-good.conf", $$$"""{"name":"good","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"{{{good}}}.0/24"}}""");
        box.WriteNet("20-bad.conf", """{"name":"bad","type":"ptp","ipam":{"type":"host-local","subnet":"192.0.2.0/24"}}""");
        var pod = box.NewPod();

        // host-local refuses an IP outside its range: a runtime failure of the second network.
        var error = await Assert.ThrowsAsync<CniPluginException>(() => box.Networking.SetupAsync(PodSandbox.Request(pod, "good,bad:IP=198.51.100.7"), CancellationToken.None));

        Assert.Contains("network \"bad\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("198.51.100.7", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(pod.PodDir, NetInfo.FileName)));
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(box.DataDir, "networks", "good")), f => Path.GetFileName(f).StartsWith(good, StringComparison.Ordinal));
        Assert.DoesNotContain(pod.Uuid, PodSandbox.NatRules(), StringComparison.Ordinal);
        Assert.NotEqual(0, PodSandbox.InNetns(pod.Netns, "ip", "link", "show", "eth0").Exit);
    }

    [RootFact(Why)]
    public async Task SetupAsync_Port_TcpToHostPortReachesListenerInPod()
    {
        using var box = new PodSandbox(nameof(SetupAsync_Port_TcpToHostPortReachesListenerInPod));
        box.IsolateDefaultRestricted();
        string subnet = PodSandbox.RandomSubnetPrefix();
        box.WriteNet("10-p2p.conf", $$$"""{"name":"p2p","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"{{{subnet}}}.0/24"}}""");
        var pod = box.NewPod();
        int hostPort = FreePorts.Next();

        // The socket is created inside the pod's namespace and stays there whichever thread uses it.
        using var ns = NetworkNamespace.Open(pod.Netns);
        using Socket listener = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(IPAddress.Any, 8080));
        listener.Listen();

        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(pod, "p2p", ("http", "tcp", 8080, hostPort, null)), CancellationToken.None);
        string hostSide = status.Attachments[0].Gateway!;

        foreach (string target in new[] { "127.0.0.1", hostSide })
        {
            using var client = new TcpClient();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            Task<Socket> accepted = listener.AcceptAsync(deadline.Token).AsTask();
            await client.ConnectAsync(IPAddress.Parse(target), hostPort, deadline.Token);
            using Socket server = await accepted;
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("ping"), deadline.Token);
            byte[] buffer = new byte[4];
            await server.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            Assert.Equal("ping", Encoding.ASCII.GetString(buffer));
        }

        await box.Networking.TeardownAsync(pod.PodDir, pod.Uuid, CancellationToken.None);
        Assert.DoesNotContain($"--dport {hostPort}", PodSandbox.NatRules(), StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public async Task SetupAsync_None_LoopbackOnly()
    {
        using var box = new PodSandbox(nameof(SetupAsync_None_LoopbackOnly));
        var pod = box.NewPod();

        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(pod, "none"), CancellationToken.None);

        Assert.Empty(status.Attachments);
        string links = PodSandbox.InNetns(pod.Netns, "ip", "-o", "link").Output;
        Assert.Single(links.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("lo:", links, StringComparison.Ordinal);
        Assert.Contains("<LOOPBACK,UP", links, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(pod.PodDir, NetInfo.FileName)));
    }

    /// <summary>The POSTROUTING rule the ptp plugin adds for a masquerading pod, as <c>iptables -S</c> prints it.</summary>
    private static string MasqueradeRule(string ip, string uuid)
    {
        string chain = ("CNI-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(Encoding.UTF8.GetBytes("default" + uuid))))[..28];
        return $"-A POSTROUTING -s {ip}/32 -m comment --comment \"name: \\\"default\\\" id: \\\"{uuid}\\\"\" -j {chain}";
    }
}

[CollectionDefinition(nameof(HostNetworkCollection), DisableParallelization = true)]
public sealed class HostNetworkCollection
{
}
