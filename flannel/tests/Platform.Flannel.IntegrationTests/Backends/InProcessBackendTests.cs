using System.Net;
using Platform.Flannel.Backends;
using Platform.Flannel.Config;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Flannel.Subnets;
using Platform.Linux.Netlink;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Backends;

/// <summary>
/// The backends driven directly, two "hosts" in this one process: every backend programs the namespace
/// given in <see cref="BackendContext.Namespace"/> (netlink handles, TUN, UDP socket, link events, sysctl),
/// fed with hand-made lease batches instead of etcd.
/// </summary>
public sealed class InProcessBackendTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private readonly TestDirectory _directory = TestDirectory.Create("flannel-inproc");

    public void Dispose() => _directory.Dispose();

    [RootTheory("creates network namespaces, vxlan and tun devices")]
    [InlineData("host-gw")]
    [InlineData("vxlan")]
    [InlineData("udp")]
    public async Task TwoHostsInOneProcess_SnapshotRoutesPods_RemovalUnroutes(string type)
    {
        NetworkConfig config = NetworkConfig.Parse($$$"""{"Network":"10.64.0.0/16","Backend":{"Type":"{{{type}}}"}}""");
        // The etcd forwarder is not used: the leases are made here.
        await using var cluster = new NetnsCluster(_directory, etcdPort: 1);
        NetnsCluster.Host[] hosts = [cluster.AddHost(1), cluster.AddHost(2)];
        var backends = new IBackend[2];
        var leases = new SubnetLease[2];
        try
        {
            for (int i = 0; i < 2; i++)
            {
                NetnsCluster.Host host = hosts[i];
                backends[i] = BackendRegistry.Create(type, new BackendContext(new ExternalInterface("eth0", host.PublicIP, host.PublicIP, 1500)) { Namespace = host.Namespace });
                BackendRegistration registration = await backends[i].RegisterNetworkAsync(config, CancellationToken.None);
                var subnet = Ip4Net.Parse($"10.64.{i + 1}.0/24");
                leases[i] = new SubnetLease(subnet, new LeaseAttrs { PublicIP = host.PublicIP, BackendType = registration.BackendType, BackendData = registration.BackendData }, 1, null);
                SubnetFile.Write(host.SubnetFile, config.Network, subnet, registration.Mtu, ipMasq: false);
            }

            var snapshot = new LeaseBatch(true, [.. leases.Select(l => new LeaseEvent(LeaseEventType.Added, l))], 1);
            for (int i = 0; i < 2; i++)
            {
                await backends[i].HandleLeasesAsync(snapshot, leases[i], CancellationToken.None);
            }

            NetnsCluster.Pod[] pods = await Task.WhenAll(hosts.Select(h => h.AddPodAsync()));
            Assert.True(await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address), s_timeout), $"{type}: h1's pod cannot reach h2's");
            byte[] payload = new byte[64 * 1024];
            Random.Shared.NextBytes(payload);
            Assert.Equal(payload, (await NetnsCluster.TcpTransferAsync(pods[0].Ns, pods[0].Address, pods[1].Ns, payload)).Received);

            await backends[0].HandleLeasesAsync(new LeaseBatch(false, [new LeaseEvent(LeaseEventType.Removed, leases[1])], 2), leases[0], CancellationToken.None);
            if (type != "udp")
            {
                Assert.DoesNotContain(hosts[0].Netlink.GetRoutes(), r => r.Destination.Equals(IPAddress.Parse("10.64.2.0")));
            }

            if (type == "vxlan")
            {
                Link device = hosts[0].Netlink.GetLink("flannel.1")!;
                Assert.DoesNotContain(hosts[0].Netlink.GetNeighbours(device.Index), n => n.Address.Equals(IPAddress.Parse("10.64.2.0")));
                Assert.DoesNotContain(hosts[0].Netlink.GetFdb(device.Index), f => f.Destination is not null);
            }

            Assert.False(await NetnsCluster.PingAsync(pods[0].Ns, pods[1].Address));
        }
        finally
        {
            foreach (IBackend? backend in backends)
            {
                if (backend is not null)
                {
                    await backend.DisposeAsync();
                }
            }
        }

        if (type == "udp")
        {
            // The TUN device goes with its handle.
            Assert.Null(hosts[0].Netlink.GetLink("flannel0"));
        }
    }
}
