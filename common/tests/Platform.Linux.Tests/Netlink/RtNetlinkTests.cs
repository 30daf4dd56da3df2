using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Linux.Tests.Netlink;

/// <summary>
/// Every operation in a fresh namespace, read back with our dump AND cross-checked with iproute2's
/// <c>ip -j</c> / <c>bridge -j</c> run inside the namespace (only here, in the test).
/// </summary>
public sealed class RtNetlinkTests : IDisposable
{
    private readonly TestDirectory _dir = TestDirectory.Create("rtnetlink");
    private readonly List<string> _namespaces = [];

    public void Dispose()
    {
        foreach (string path in _namespaces)
        {
            NetworkNamespace.Delete(path);
        }

        _dir.Dispose();
    }

    [RootFact("creates network namespaces and links")]
    public void Links_DummyBridgeUpMtuMasterDelete_ReadBackAndMatchIproute2()
    {
        (NetworkNamespace ns, IRtNetlink nl) = NewNamespace("a");
        using (ns)
        using (nl)
        {
            Link bridge = nl.AddBridge("br-test");
            // (The dummy kind needs a module this CI kernel lacks; a veth end is as good a slave.)
            Link dummy = nl.AddVeth("dummy0", "dummy1");
            nl.SetMtu(dummy.Index, 1400);
            nl.SetMaster(dummy.Index, bridge.Index);
            nl.SetLinkUp(dummy.Index, true);
            var mac = PhysicalAddress.Parse("02-00-00-00-00-07");
            nl.SetHardwareAddress(dummy.Index, mac);

            Link read = nl.GetLink("dummy0")!;
            Assert.Equal(dummy.Index, read.Index);
            Assert.Equal(1400, read.Mtu);
            Assert.Equal(bridge.Index, read.MasterIndex);
            Assert.True(read.IsUp);
            Assert.Equal(mac, read.HardwareAddress);
            Assert.Equal("veth", read.Kind);
            Assert.Equal("bridge", nl.GetLink(bridge.Index)!.Kind);
            Assert.Equal(["br-test", "dummy0", "dummy1", "lo"], nl.GetLinks().Select(l => l.Name).Order().ToArray());

            JsonElement ip = Single(Ip(ns, "-d", "link", "show", "dummy0"));
            Assert.Equal(1400, ip.GetProperty("mtu").GetInt32());
            Assert.Equal("br-test", ip.GetProperty("master").GetString());
            Assert.Equal("02:00:00:00:00:07", ip.GetProperty("address").GetString());
            Assert.Contains("UP", ip.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

            nl.SetLinkUp(dummy.Index, false);
            Assert.False(nl.GetLink(dummy.Index)!.IsUp);
            Assert.DoesNotContain("UP", Single(Ip(ns, "link", "show", "dummy0")).GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

            nl.SetMaster(dummy.Index, 0);
            Assert.Equal(0, nl.GetLink(dummy.Index)!.MasterIndex);
            nl.DeleteLink(dummy.Index);
            Assert.Null(nl.GetLink("dummy0"));
            Assert.Null(nl.GetLink(dummy.Index));
            LinuxException e = Assert.Throws<LinuxException>(() => nl.DeleteLink(dummy.Index));
            Assert.Equal(19, e.Errno); // ENODEV
            Assert.StartsWith("RTM_DELLINK", e.Operation, StringComparison.Ordinal);
            Assert.Equal(17, Assert.Throws<LinuxException>(() => nl.AddBridge("br-test")).Errno); // EEXIST
        }
    }

    [RootFact("creates network namespaces and links")]
    public void Bridge_KeepsItsAddress_WhenTheLowestPortLeaves()
    {
        (NetworkNamespace ns, IRtNetlink nl) = NewNamespace("a");
        using (ns)
        using (nl)
        {
            Link bridge = nl.AddBridge("br-test");
            PhysicalAddress own = bridge.HardwareAddress!;
            Assert.Equal(0x02, own.GetAddressBytes()[0] & 0x03); // unicast, locally administered
            Link low = nl.AddVeth("port-low", "peer-low");
            nl.SetHardwareAddress(low.Index, PhysicalAddress.Parse("02-00-00-00-00-01"));
            Link high = nl.AddVeth("port-high", "peer-high");
            nl.SetHardwareAddress(high.Index, PhysicalAddress.Parse("02-00-00-00-00-02"));
            nl.SetMaster(low.Index, bridge.Index);
            nl.SetMaster(high.Index, bridge.Index);
            Assert.Equal(own, nl.GetLink(bridge.Index)!.HardwareAddress);

            // A bridge created without an address would now switch from ...:01 to ...:02.
            nl.DeleteLink(low.Index);
            Assert.Equal(own, nl.GetLink(bridge.Index)!.HardwareAddress);
            Assert.Equal(own.ToString(), Single(Ip(ns, "link", "show", "br-test")).GetProperty("address").GetString()!.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant());
        }
    }

    [RootFact("creates network namespaces and veth pairs")]
    public void Veth_PeerInOtherNamespace_AddressesAndRoutesWork()
    {
        (NetworkNamespace a, IRtNetlink na) = NewNamespace("a");
        (NetworkNamespace b, IRtNetlink nb) = NewNamespace("b");
        using (a)
        using (na)
        using (b)
        using (nb)
        {
            Link va = na.AddVeth("va", "vb", b);
            Assert.Equal("veth", va.Kind);
            Assert.Null(na.GetLink("vb"));
            Link vb = nb.GetLink("vb")!;
            Assert.Equal("veth", vb.Kind);

            na.AddAddress(new InterfaceAddress(va.Index, IPAddress.Parse("192.168.77.1"), 24));
            nb.AddAddress(new InterfaceAddress(vb.Index, IPAddress.Parse("192.168.77.2"), 24));
            na.AddAddress(new InterfaceAddress(va.Index, IPAddress.Parse("fd00::1"), 64));
            na.SetLinkUp(va.Index, true);
            nb.SetLinkUp(vb.Index, true);

            Assert.Contains(new InterfaceAddress(va.Index, IPAddress.Parse("192.168.77.1"), 24), na.GetAddresses(va.Index));
            Assert.Contains(new InterfaceAddress(va.Index, IPAddress.Parse("fd00::1"), 64), na.GetAddresses());
            JsonElement ipAddr = Single(Ip(a, "addr", "show", "dev", "va"));
            Assert.Contains(ipAddr.GetProperty("addr_info").EnumerateArray(), i => i.GetProperty("local").GetString() == "192.168.77.1" && i.GetProperty("prefixlen").GetInt32() == 24);

            // A route via the peer, an onlink route, then replace and delete.
            var viaPeer = new Route { Destination = IPAddress.Parse("10.20.0.0"), PrefixLength = 16, Gateway = IPAddress.Parse("192.168.77.2"), OutputIndex = va.Index };
            na.AddRoute(viaPeer);
            Assert.Equal(17, Assert.Throws<LinuxException>(() => na.AddRoute(viaPeer)).Errno);
            var onlink = new Route { Destination = IPAddress.Parse("10.30.1.0"), PrefixLength = 24, Gateway = IPAddress.Parse("10.30.1.0"), OutputIndex = va.Index, OnLink = true };
            na.ReplaceRoute(onlink);
            na.ReplaceRoute(onlink);

            IReadOnlyList<Route> routes = na.GetRoutes();
            Assert.Contains(routes, r => r.Destination.Equals(IPAddress.Parse("10.20.0.0")) && r.PrefixLength == 16 && Equals(r.Gateway, IPAddress.Parse("192.168.77.2")) && r.OutputIndex == va.Index);
            Assert.Contains(routes, r => r.Destination.Equals(IPAddress.Parse("10.30.1.0")) && r.OnLink && r.OutputIndex == va.Index);
            JsonElement[] ipRoutes = Ip(a, "route", "show").EnumerateArray().ToArray();
            Assert.Contains(ipRoutes, r => r.GetProperty("dst").GetString() == "10.20.0.0/16" && r.GetProperty("gateway").GetString() == "192.168.77.2");
            Assert.Contains(ipRoutes, r => r.GetProperty("dst").GetString() == "10.30.1.0/24" && r.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "onlink"));

            Route looked = na.LookupRoute(IPAddress.Parse("10.20.3.4"))!;
            Assert.Equal(IPAddress.Parse("192.168.77.2"), looked.Gateway);
            Route direct = na.LookupRoute(IPAddress.Parse("192.168.77.2"))!;
            Assert.Null(direct.Gateway);
            Assert.Equal(va.Index, direct.OutputIndex);
            Assert.Null(na.LookupRoute(IPAddress.Parse("172.31.0.1")));

            // Another table, scope and protocol, as `ip route add ... table 100 scope link proto static`.
            var inTable = new Route { Destination = IPAddress.Parse("10.40.0.0"), PrefixLength = 24, OutputIndex = va.Index, Table = 100, Scope = RouteScope.Link, Protocol = 4 };
            na.AddRoute(inTable);
            Route readBack = Assert.Single(na.GetRoutes(table: 100));
            Assert.Equal((IPAddress.Parse("10.40.0.0"), 24, RouteScope.Link, 4), (readBack.Destination, readBack.PrefixLength, readBack.Scope, readBack.Protocol));
            Assert.DoesNotContain(na.GetRoutes(), r => r.Destination.Equals(IPAddress.Parse("10.40.0.0")));
            JsonElement ipTable = Single(Ip(a, "route", "show", "table", "100"));
            Assert.Equal("static", ipTable.GetProperty("protocol").GetString());
            na.DeleteRoute(inTable);
            Assert.Empty(na.GetRoutes(table: 100));

            na.DeleteRoute(viaPeer);
            na.DeleteRoute(onlink);
            Assert.DoesNotContain(na.GetRoutes(), r => r.Destination.Equals(IPAddress.Parse("10.20.0.0")) || r.Destination.Equals(IPAddress.Parse("10.30.1.0")));
            Assert.Equal(3, Assert.Throws<LinuxException>(() => na.DeleteRoute(viaPeer)).Errno); // ESRCH

            na.DeleteAddress(new InterfaceAddress(va.Index, IPAddress.Parse("192.168.77.1"), 24));
            Assert.DoesNotContain(na.GetAddresses(va.Index), x => x.Address.Equals(IPAddress.Parse("192.168.77.1")));

            // Moving the link: it leaves a's view and shows up in b's.
            // (Bridges are netns-local; a veth end can move.)
            Link dummy = na.AddVeth("mover", "mover-peer");
            na.SetNamespace(dummy.Index, b);
            Assert.Null(na.GetLink("mover"));
            Assert.NotNull(nb.GetLink("mover"));
        }
    }

    [RootFact("creates vxlan devices, neighbours and FDB entries")]
    public void Vxlan_NeighbourAndFdb_ReadBackAndMatchIproute2()
    {
        (NetworkNamespace ns, IRtNetlink nl) = NewNamespace("v");
        using (ns)
        using (nl)
        {
            Link underlay = nl.AddVeth("eth0", "eth0-peer");
            nl.AddAddress(new InterfaceAddress(underlay.Index, IPAddress.Parse("192.168.88.1"), 24));
            nl.SetLinkUp(underlay.Index, true);
            var mac = PhysicalAddress.Parse("0E-00-00-00-00-01");
            Link vxlan = nl.AddVxlan(new VxlanOptions { Name = "flannel.1", Vni = 1, Local = IPAddress.Parse("192.168.88.1"), DeviceIndex = underlay.Index, Mtu = 1450, HardwareAddress = mac, Gbp = true });

            Assert.Equal("vxlan", vxlan.Kind);
            Assert.Equal(1450, vxlan.Mtu);
            Assert.Equal(mac, vxlan.HardwareAddress);
            Assert.Equal(new VxlanInfo(1, IPAddress.Parse("192.168.88.1"), underlay.Index, 8472, false, true), vxlan.Vxlan);
            JsonElement info = Single(Ip(ns, "-d", "link", "show", "flannel.1")).GetProperty("linkinfo").GetProperty("info_data");
            Assert.Equal(1, info.GetProperty("id").GetInt32());
            Assert.Equal(8472, info.GetProperty("port").GetInt32());
            Assert.Equal("192.168.88.1", info.GetProperty("local").GetString());
            Assert.False(info.GetProperty("learning").GetBoolean());
            Assert.True(info.TryGetProperty("gbp", out _));

            nl.SetLinkUp(vxlan.Index, true);
            var peerMac = PhysicalAddress.Parse("0E-00-00-00-00-02");
            var neighbour = new Neighbour(vxlan.Index, IPAddress.Parse("10.5.2.0"), peerMac);
            nl.AddNeighbour(neighbour);
            Assert.Equal(17, Assert.Throws<LinuxException>(() => nl.AddNeighbour(neighbour)).Errno);
            nl.ReplaceNeighbour(neighbour);
            var fdb = new FdbEntry(vxlan.Index, peerMac, IPAddress.Parse("192.168.88.2"));
            nl.ReplaceFdb(fdb);
            nl.ReplaceFdb(fdb);

            Assert.Contains(neighbour, nl.GetNeighbours(vxlan.Index));
            Assert.Contains(fdb, nl.GetFdb(vxlan.Index));
            JsonElement ipNeigh = Single(Ip(ns, "neigh", "show", "dev", "flannel.1"));
            Assert.Equal("10.5.2.0", ipNeigh.GetProperty("dst").GetString());
            Assert.Equal("0e:00:00:00:00:02", ipNeigh.GetProperty("lladdr").GetString());
            Assert.Contains("PERMANENT", ipNeigh.GetProperty("state").EnumerateArray().Select(s => s.GetString()));
            JsonElement[] bridgeFdb = Run(ns, "bridge", "-j", "fdb", "show", "dev", "flannel.1").EnumerateArray().ToArray();
            Assert.Contains(bridgeFdb, f => f.GetProperty("mac").GetString() == "0e:00:00:00:00:02" && f.TryGetProperty("dst", out JsonElement d) && d.GetString() == "192.168.88.2");

            nl.DeleteFdb(fdb);
            nl.DeleteNeighbour(neighbour);
            Assert.DoesNotContain(nl.GetFdb(vxlan.Index), f => f.HardwareAddress.Equals(peerMac));
            Assert.DoesNotContain(nl.GetNeighbours(vxlan.Index), n => n.Address.Equals(neighbour.Address));
        }
    }

    [RootFact("creates links and watches link events")]
    public async Task LinkEvents_CreatedChangedAndDeleted_AreReported()
    {
        (NetworkNamespace ns, IRtNetlink nl) = NewNamespace("t");
        using (ns)
        using (nl)
        {
            using LinkEventSubscription events = RtNetlink.SubscribeLinkEvents(ns);
            Link link = nl.AddVeth("ev0", "ev1");
            nl.SetMtu(link.Index, 1300);
            nl.DeleteLink(link.Index);

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            bool created = false, changed = false;
            while (true)
            {
                LinkEvent e = await events.Events.ReadAsync(timeout.Token);
                created |= e.Type == LinkEventType.NewOrChanged && e.Link.Name == "ev0";
                changed |= e.Type == LinkEventType.NewOrChanged && e.Link.Index == link.Index && e.Link.Mtu == 1300;
                if (e.Type == LinkEventType.Deleted && e.Link.Index == link.Index)
                {
                    break;
                }
            }

            Assert.True(created);
            Assert.True(changed);
            Assert.Null(nl.GetLink("ev0"));
        }
    }

    private (NetworkNamespace Ns, IRtNetlink Netlink) NewNamespace(string name)
    {
        string path = _dir.Combine(name);
        _namespaces.Add(path);
        NetworkNamespace ns = NetworkNamespace.Create(path);
        return (ns, RtNetlink.Open(ns));
    }

    private static JsonElement Single(JsonElement array) => Assert.Single(array.EnumerateArray().ToArray());

    private static JsonElement Ip(NetworkNamespace ns, params string[] args) => Run(ns, ["ip", "-j", .. args]);

    private static JsonElement Run(NetworkNamespace ns, params string[] command)
    {
        var start = new ProcessStartInfo("nsenter", [$"--net={ns.Path}", .. command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)}: {error}");
        return JsonDocument.Parse(output.Length == 0 ? "[]" : output).RootElement.Clone();
    }
}
