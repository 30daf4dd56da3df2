using System.Text;

namespace Platform.Flannel.Cni.Tests;

public sealed class NetconfTests
{
    [Fact]
    public void Parse_Defaults_SubnetFileAndDataDirAsFlannel()
    {
        FlannelNetConf conf = FlannelNetConf.Parse("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel"}"""u8);
        Assert.Equal("/run/flannel/subnet.env", conf.SubnetFile);
        Assert.Equal("/var/lib/cni/flannel", conf.DataDir);
        Assert.Null(conf.Delegate);
        Assert.Equal("cbr0", conf.Name);
    }

    [Fact]
    public void Parse_FieldNames_MatchCaseInsensitivelyAsGo()
    {
        FlannelNetConf conf = FlannelNetConf.Parse("""{"NAME":"n","SubnetFile":"/x/subnet.env","datadir":"/d","subnetFile":null}"""u8);
        Assert.Equal("n", conf.Name);
        Assert.Equal("/x/subnet.env", conf.SubnetFile);
        Assert.Equal("/d", conf.DataDir);
    }

    [Theory]
    [InlineData("""{"name":"n","delegate":"bridge"}""", "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.delegate of type map[string]interface {}")]
    [InlineData("""{"name":"n","subnetFile":5}""", "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.subnetFile of type string")]
    [InlineData("""[1]""", "failed to load netconf: json: cannot unmarshal array into Go value of type main.NetConf")]
    public void Parse_WrongTypes_GoMessages(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => FlannelNetConf.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void SubnetEnv_FlanneldFile_Parsed()
    {
        SubnetEnv env = SubnetEnv.Parse("FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\nOTHER=1\n", "f");
        Assert.Equal("10.5.0.0/16", Assert.Single(env.Networks).ToString());
        Assert.Equal("10.5.52.0/24", env.Subnet.ToString());
        Assert.Equal(1450u, env.Mtu);
        Assert.True(env.IpMasq);
    }

    [Fact]
    public void SubnetEnv_CrlfAndNonTrueMasq_ToleratedAsGoScanner()
    {
        SubnetEnv env = SubnetEnv.Parse("FLANNEL_NETWORK=10.5.0.0/16\r\nFLANNEL_SUBNET=10.5.52.1/24\r\nFLANNEL_MTU=1450\r\nFLANNEL_IPMASQ=True\r\n", "f");
        Assert.Equal(1450u, env.Mtu);
        Assert.False(env.IpMasq);
    }

    [Fact]
    public void SubnetEnv_Ipv6Only_Accepted()
    {
        SubnetEnv env = SubnetEnv.Parse("FLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:5::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n", "f");
        Assert.Empty(env.Networks);
        Assert.Equal("fd00:0:0:5::/64", env.Ipv6Subnet.ToString());
    }

    [Theory]
    [InlineData("FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\n", "/run/flannel/subnet.env is missing FLANNEL_MTU, FLANNEL_IPMASQ")]
    [InlineData("FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n", "/run/flannel/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET")]
    [InlineData("FLANNEL_NETWORK=10.5.0.0\n", "invalid CIDR address: 10.5.0.0")]
    [InlineData("FLANNEL_SUBNET=10.5.52.1/33\n", "invalid CIDR address: 10.5.52.1/33")]
    [InlineData("FLANNEL_MTU=1450 \n", "strconv.ParseUint: parsing \"1450 \": invalid syntax")]
    [InlineData("FLANNEL_MTU=99999999999\n", "strconv.ParseUint: parsing \"99999999999\": value out of range")]
    [InlineData("FLANNEL_MTU\n", "/run/flannel/subnet.env: FLANNEL_MTU has no value")]
    public void SubnetEnv_BadFile_ClearError(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => SubnetEnv.Parse(text, "/run/flannel/subnet.env"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void SubnetEnv_Directory_GoReadError()
    {
        string path = Path.GetTempPath();
        var e = Assert.Throws<IOException>(() => SubnetEnv.Load(path));
        Assert.Equal($"read {path}: is a directory", e.Message);
    }

    [Fact]
    public void SubnetEnv_MissingFile_GoOpenError()
    {
        var e = Assert.Throws<IOException>(() => SubnetEnv.Load("/nonexistent/flannel/subnet.env"));
        Assert.Equal("open /nonexistent/flannel/subnet.env: no such file or directory", e.Message);
    }
}
