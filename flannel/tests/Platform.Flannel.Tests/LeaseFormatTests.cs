using Platform.Flannel.Subnets;
using Platform.Testing;

namespace Platform.Flannel.Tests;

public sealed class LeaseFormatTests
{
    [Fact]
    public void ToJson_VxlanLease_MatchesFlannelsBytes()
    {
        var attrs = new LeaseAttrs { PublicIP = "192.168.64.3", BackendType = "vxlan", BackendData = """{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}""" };

        // Documentation/reservations.md's example, byte for byte.
        Assert.Equal("""{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", attrs.ToJson());
    }

    [Fact]
    public void ToJson_NoBackendType_OmitsIt()
    {
        Assert.Equal("""{"PublicIP":"10.0.0.1","PublicIPv6":null}""", new LeaseAttrs { PublicIP = "10.0.0.1" }.ToJson());
    }

    [Fact]
    public void Parse_RoundTripsAndIgnoresCase()
    {
        LeaseAttrs attrs = LeaseAttrs.Parse("""{"publicip":"10.0.0.2","PublicIPv6":null,"BackendType":"host-gw"}""");

        Assert.Equal("10.0.0.2", attrs.PublicIP);
        Assert.Equal("host-gw", attrs.BackendType);
        Assert.Null(attrs.BackendData);
    }

    [Theory]
    [InlineData("10.1.5.0-24", "10.1.5.0/24")]
    [InlineData("10.1.5.0-24&fd00:5::-64", "10.1.5.0/24")]
    public void SubnetKey_TryParse_ReadsFlannelKeys(string key, string subnet)
    {
        Assert.True(SubnetKey.TryParse(key, out Ip4Net parsed));
        Assert.Equal(subnet, parsed.ToString());
        Assert.Equal("10.1.5.0-24", SubnetKey.Make(parsed));
    }

    [Fact]
    public void SubnetKey_TryParse_RejectsOtherKeys()
    {
        Assert.False(SubnetKey.TryParse("config", out _));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void SubnetFile_WriteThenRead_HasFlannelsContentAndSubnet()
    {
        using var directory = TestDirectory.Create("flannel-subnet-env");
        string path = directory.Combine("run", "subnet.env");

        SubnetFile.Write(path, Ip4Net.Parse("10.5.0.0/16"), Ip4Net.Parse("10.5.52.0/24"), 1450, ipMasq: false);

        Assert.Equal("FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n", File.ReadAllText(path));
        Assert.Equal(Ip4Net.Parse("10.5.52.0/24"), SubnetFile.ReadSubnet(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(path) & (UnixFileMode)0x1ff);
    }

    [Fact]
    public void SubnetFile_ReadSubnet_MissingFile_IsNull()
    {
        Assert.Null(SubnetFile.ReadSubnet("/nonexistent/flannel/subnet.env"));
    }
}
