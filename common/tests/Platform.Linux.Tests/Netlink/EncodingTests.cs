using System.Net;
using System.Net.NetworkInformation;
using Platform.Linux.Netlink;

namespace Platform.Linux.Tests.Netlink;

/// <summary>Byte layouts derived by hand from linux/netlink.h, rtnetlink.h, if_link.h and neighbour.h.</summary>
public sealed class EncodingTests
{
    [Fact]
    public void RouteRequest_OnlinkViaGateway_MatchesRtmsgLayout()
    {
        var route = new Route { Destination = IPAddress.Parse("10.1.2.0"), PrefixLength = 24, Gateway = IPAddress.Parse("10.1.2.0"), OutputIndex = 5, OnLink = true };

        byte[] bytes = RtNetlinkClient.RouteRequest(24, 0x505, route).ToArray(7);

        Assert.Equal(Hex(
            "3c000000 1800 0505 07000000 00000000", // nlmsghdr: len 60, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 7, pid 0
            "02 18 00 00 fe 03 00 01 04000000", // rtmsg: AF_INET, /24, table main, RTPROT_BOOT, universe, RTN_UNICAST, RTNH_F_ONLINK
            "0800 0100 0a010200", // RTA_DST
            "0800 0500 0a010200", // RTA_GATEWAY
            "0800 0400 05000000", // RTA_OIF
            "0800 0f00 fe000000"), bytes); // RTA_TABLE 254
    }

    [Fact]
    public void RouteRequest_DirectRoute_IsLinkScopedAndDeleteMatchesAnyScope()
    {
        var route = new Route { Destination = IPAddress.Parse("10.9.0.0"), PrefixLength = 16, OutputIndex = 3 };

        byte[] add = RtNetlinkClient.RouteRequest(24, 0x605, route).ToArray(1);
        byte[] del = RtNetlinkClient.RouteRequest(25, 0x5, route).ToArray(1);

        Assert.Equal(253, add[16 + 6]); // RT_SCOPE_LINK, as `ip route add ... dev X`
        Assert.Equal(255, del[16 + 6]); // RT_SCOPE_NOWHERE
        Assert.Equal(0, del[16 + 5]); // any protocol
    }

    [Fact]
    public void VxlanRequest_FlannelDevice_MatchesNestedLinkInfoLayout()
    {
        var options = new VxlanOptions
        {
            Name = "flannel.1",
            Vni = 1,
            Local = IPAddress.Parse("192.168.0.1"),
            DeviceIndex = 2,
            Port = 8472,
            Mtu = 1450,
            HardwareAddress = PhysicalAddress.Parse("02-42-0A-F4-01-00"),
        };

        byte[] bytes = RtNetlinkClient.VxlanRequest(options).ToArray(9);

        Assert.Equal(Hex(
            "80000000 1000 0506 09000000 00000000", // len 128, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
            "00 00 0000 00000000 00000000 00000000", // ifinfomsg
            "0e00 0300 666c616e6e656c2e31 00 0000", // IFLA_IFNAME "flannel.1\0" + pad
            "0800 0400 aa050000", // IFLA_MTU 1450
            "0a00 0100 02420af40100 0000", // IFLA_ADDRESS + pad
            "3c00 1200", // IFLA_LINKINFO (60)
            "0a00 0100 7678 6c61 6e00 0000", // IFLA_INFO_KIND "vxlan\0" + pad
            "2c00 0200", // IFLA_INFO_DATA (44)
            "0800 0100 01000000", // IFLA_VXLAN_ID 1
            "0800 0300 02000000", // IFLA_VXLAN_LINK 2
            "0800 0400 c0a80001", // IFLA_VXLAN_LOCAL
            "0500 0700 00 000000", // IFLA_VXLAN_LEARNING 0 + pad
            "0600 0f00 2118 0000"), bytes); // IFLA_VXLAN_PORT 8472 big-endian + pad
    }

    [Fact]
    public void FdbRequest_VxlanPeer_IsBridgeFamilySelfPermanent()
    {
        var entry = new FdbEntry(4, PhysicalAddress.Parse("02-42-0A-F4-02-00"), IPAddress.Parse("192.168.99.2"));

        byte[] bytes = RtNetlinkClient.FdbRequest(28, 0x505, entry).ToArray(3);

        Assert.Equal(Hex(
            "30000000 1c00 0505 03000000 00000000", // len 48, RTM_NEWNEIGH
            "07 00 0000 04000000 8000 02 00", // ndmsg: AF_BRIDGE, ifindex 4, NUD_PERMANENT, NTF_SELF
            "0a00 0200 02420af40200 0000", // NDA_LLADDR + pad
            "0800 0100 c0a86302"), bytes); // NDA_DST
    }

    [Fact]
    public void NeighbourRequest_Permanent_MatchesNdmsgLayout()
    {
        var neighbour = new Neighbour(4, IPAddress.Parse("10.1.2.0"), PhysicalAddress.Parse("02-42-0A-F4-02-00"));

        byte[] bytes = RtNetlinkClient.NeighbourRequest(28, 0x505, neighbour).ToArray(3);

        Assert.Equal(Hex(
            "30000000 1c00 0505 03000000 00000000",
            "02 00 0000 04000000 8000 00 00", // AF_INET, NUD_PERMANENT
            "0800 0100 0a010200", // NDA_DST
            "0a00 0200 02420af40200 0000"), bytes); // NDA_LLADDR
    }

    [Fact]
    public void ParseLink_NestedVxlanInfo_IsDecoded()
    {
        byte[] request = RtNetlinkClient.VxlanRequest(new VxlanOptions { Name = "flannel.7", Vni = 7, Port = 8472, Gbp = true, Local = IPAddress.Parse("10.0.0.1") }).ToArray(1);
        // Pretend the kernel answered with the same attributes for ifindex 12, IFF_UP.
        request[16 + 4] = 12;
        request[16 + 8] = 1;

        Link link = RtNetlinkClient.ParseLink(request.AsMemory(16));

        Assert.Equal(12, link.Index);
        Assert.Equal("flannel.7", link.Name);
        Assert.True(link.IsUp);
        Assert.Equal("vxlan", link.Kind);
        Assert.Equal(new VxlanInfo(7, IPAddress.Parse("10.0.0.1"), 0, 8472, false, true), link.Vxlan);
    }

    [Fact]
    public void ParseAll_TruncatedMessage_Throws()
    {
        byte[] message = new NetlinkWriter(18, 1).IfInfoMsg(0, 0).ToArray(1);

        Assert.Single(NetlinkMessage.ParseAll(message));
        Assert.Throws<InvalidDataException>(() => NetlinkMessage.ParseAll(message.AsMemory(0, message.Length - 4)));
    }

    private static byte[] Hex(params string[] parts) => Convert.FromHexString(string.Concat(parts).Replace(" ", "", StringComparison.Ordinal));
}
