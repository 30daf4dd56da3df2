using System.Text.Json.Nodes;

namespace Platform.Rkt.Networking.Tests;

public sealed class CniResultTests
{
    [Fact]
    public void IPv4Of_CurrentResult_PicksAddressOfSandboxInterface()
    {
        var result = (JsonObject)JsonNode.Parse("""
            {"cniVersion":"0.4.0",
             "interfaces":[{"name":"veth1","mac":"aa"},{"name":"eth0","sandbox":"/run/netns/x"}],
             "ips":[{"version":"6","address":"fd00::2/64","interface":1},
                    {"version":"4","address":"10.9.0.7/16","gateway":"10.9.0.1","interface":1}],
             "dns":{"nameservers":["10.9.0.1"],"search":["example.com"]}}
            """)!;

        Assert.Equal(("10.9.0.7", 16, "10.9.0.1"), CniResult.IPv4Of(result, "eth0"));
        (IReadOnlyList<string> servers, IReadOnlyList<string> search) = CniResult.DnsOf(result);
        Assert.Equal(["10.9.0.1"], servers);
        Assert.Equal(["example.com"], search);
    }

    [Fact]
    public void IPv4Of_LegacyResult_ReadsIp4()
    {
        var result = (JsonObject)JsonNode.Parse("""{"ip4":{"ip":"172.16.28.5/24","gateway":"172.16.28.1"}}""")!;

        Assert.Equal(("172.16.28.5", 24, "172.16.28.1"), CniResult.IPv4Of(result, "eth0"));
        Assert.Empty(CniResult.DnsOf(result).Nameservers);
    }

    [Fact]
    public void IPv4Of_NoAddress_Null()
    {
        Assert.Null(CniResult.IPv4Of(null, "eth0").Ip);
        Assert.Null(CniResult.IPv4Of((JsonObject)JsonNode.Parse("""{"ips":[]}""")!, "eth0").Ip);
    }

    [Fact]
    public void MaskOf_PrefixLengths()
    {
        Assert.Equal("255.255.255.0", NetInfo.MaskOf(24));
        Assert.Equal("255.240.0.0", NetInfo.MaskOf(12));
        Assert.Equal("0.0.0.0", NetInfo.MaskOf(0));
        Assert.Equal("255.255.255.255", NetInfo.MaskOf(32));
    }

    [Fact]
    public void CompareVersions_Semver()
    {
        Assert.True(CniPodNetworking.CompareVersions("0.4.0", "0.3.0") > 0);
        Assert.True(CniPodNetworking.CompareVersions("0.2.0", "0.3.0") < 0);
        Assert.Equal(0, CniPodNetworking.CompareVersions("1.0", "1.0.0"));
    }
}
