using Platform.Flannel.Config;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Tests;

public sealed class NetworkConfigTests
{
    [Fact]
    public void Parse_Slash16WithoutSubnetLen_DefaultsToSlash24SkippingFirstSubnet()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"Network":"10.1.0.0/16"}""");

        Assert.Equal("10.1.0.0/16", config.Network.ToString());
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal("10.1.1.0", Ip4Net.FormatAddress(config.SubnetMin));
        Assert.Equal("10.1.255.0", Ip4Net.FormatAddress(config.SubnetMax));
        // flannel's code (not its docs): no Backend means udp.
        Assert.Equal("udp", config.BackendType);
        Assert.Null(config.Backend);
    }

    [Theory]
    [InlineData("10.1.0.0/22", 24)]
    [InlineData("10.1.0.0/23", 25)]
    [InlineData("10.1.0.0/26", 28)]
    [InlineData("10.1.0.0/28", 30)]
    public void Parse_SmallNetworks_SubnetLenIsPrefixPlusTwoBeyondSlash22(string network, int expected)
    {
        NetworkConfig config = NetworkConfig.Parse($$"""{"Network":"{{network}}"}""");

        Assert.Equal(expected, config.SubnetLen);
    }

    [Fact]
    public void Parse_HostBitsInNetwork_AreMaskedOff()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"Network":"10.1.2.3/16"}""");

        Assert.Equal("10.1.0.0/16", config.Network.ToString());
    }

    [Fact]
    public void Parse_FieldNamesInAnyCase_AreAccepted()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"network":"10.2.0.0/16","SUBNETLEN":26,"subnetmin":"10.2.4.0","SubnetMAX":"10.2.8.0","backend":{"TYPE":"VXLAN","vni":4}}""");

        Assert.Equal("10.2.0.0/16", config.Network.ToString());
        Assert.Equal(26, config.SubnetLen);
        Assert.Equal("10.2.4.0", Ip4Net.FormatAddress(config.SubnetMin));
        Assert.Equal("10.2.8.0", Ip4Net.FormatAddress(config.SubnetMax));
        Assert.Equal("vxlan", config.BackendType);
        Assert.Equal(4, config.Backend!.Value.GetProperty("vni").GetInt32());
    }

    [Theory]
    [InlineData("""{}""", "please define a correct Network parameter in the flannel config")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetLen":31}""", "SubnetLen must be less than /31")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetLen":17}""", "network must be able to accommodate at least four subnets")]
    [InlineData("""{"Network":"10.1.0.0/29"}""", "network is too small. Minimum useful network prefix is /28")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetMin":"10.2.0.0"}""", "SubnetMin is not in the range of the Network")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetMax":"10.2.0.0"}""", "SubnetMax is not in the range of the Network")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetMin":"10.1.0.7"}""", "SubnetMin is not on a SubnetLen boundary: 10.1.0.7")]
    [InlineData("""{"Network":"10.1.0.0/16","SubnetMax":"10.1.3.1"}""", "SubnetMax is not on a SubnetLen boundary: 10.1.3.1")]
    public void Parse_InvalidConfig_ThrowsFlannelsMessage(string json, string message)
    {
        NetworkConfigException e = Assert.Throws<NetworkConfigException>(() => NetworkConfig.Parse(json));

        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Parse_BackendWithoutType_HasEmptyTypeForUnknownBackendError()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"Network":"10.1.0.0/16","Backend":{}}""");

        Assert.Equal("", config.BackendType);
    }

    [Fact]
    public void Parse_NotJson_Throws()
    {
        Assert.Throws<NetworkConfigException>(() => NetworkConfig.Parse("Network=10.1.0.0/16"));
    }

    [Fact]
    public void IsCompatible_ChecksLengthAndRange()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"Network":"10.1.0.0/16","SubnetMin":"10.1.10.0","SubnetMax":"10.1.20.0"}""");

        Assert.True(config.IsCompatible(Ip4Net.Parse("10.1.10.0/24")));
        Assert.True(config.IsCompatible(Ip4Net.Parse("10.1.20.0/24")));
        Assert.False(config.IsCompatible(Ip4Net.Parse("10.1.9.0/24")));
        Assert.False(config.IsCompatible(Ip4Net.Parse("10.1.21.0/24")));
        Assert.False(config.IsCompatible(Ip4Net.Parse("10.1.10.0/25")));
    }
}
