using System.Text;
using Platform.Flannel.Cni.Cni;

namespace Platform.Flannel.Cni.Tests;

/// <summary>
/// The delegate configuration byte for byte. Expected strings are what flannel-io/cni-plugin's Go
/// code writes for the same input: <c>json.Marshal</c> of a <c>map[string]interface{}</c> (keys sorted,
/// compact, HTML-escaped), numbers decoded as float64, <c>ipam.ranges</c> from FLANNEL_SUBNET with host
/// bits cleared (<c>net.ParseCIDR</c>), <c>ipam.routes</c> given ones first, then FLANNEL_NETWORK.
/// </summary>
public sealed class DelegateConfigTests
{
    private const string Env = "FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";

    private static string Render(string netconf, string env = Env) =>
        GoJson.Serialize(DelegateConfig.Build(FlannelNetConf.Parse(Encoding.UTF8.GetBytes(netconf)), SubnetEnv.Parse(env, "/run/flannel/subnet.env")));

    [Fact]
    public void Build_MinimalNetconf_BridgeWithHostLocalAsFlannel()
    {
        Assert.Equal(
            """{"cniVersion":"1.0.0","ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.5.52.0/24"}]],"routes":[{"dst":"10.5.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}""",
            Render("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel"}"""));
    }

    [Fact]
    public void Build_KubeFlannelStockConf_KeepsDelegateKeysAndMasqFromFlanneld()
    {
        // kube-flannel.yml's cni-conf.json entry, on a host where flanneld runs with --ip-masq.
        string env = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
        Assert.Equal(
            """{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}""",
            Render("""{"name":"cbr0","cniVersion":"0.3.1","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}}""", env));
    }

    [Fact]
    public void Build_DelegateOverrides_WinOverDefaults()
    {
        // A non-bridge delegate gets no isGateway; its own mtu/ipMasq stay; the netconf's cniVersion
        // replaces the delegate's.
        Assert.Equal(
            """{"cniVersion":"0.4.0","ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.5.52.0/24"}]],"routes":[{"dst":"10.5.0.0/16"}],"type":"host-local"},"master":"eth0","mtu":1400,"name":"n1","type":"ipvlan"}""",
            Render("""{"cniVersion":"0.4.0","name":"n1","type":"flannel","delegate":{"type":"ipvlan","master":"eth0","mtu":1400,"ipMasq":false,"cniVersion":"0.3.0"}}"""));
    }

    [Fact]
    public void Build_BridgeWithOwnIsGateway_KeepsIt()
    {
        Assert.Contains(
            "\"isGateway\":false",
            Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"isGateway":false,"bridge":"cni7"}}"""),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Build_TopLevelIpamAndDualStack_RangesPerFamilyRoutesGivenThenNetworks()
    {
        string env = "FLANNEL_NETWORK=10.5.0.0/16,10.6.0.0/16,10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\n"
            + "FLANNEL_IPV6_NETWORK=fd00:10::/56\nFLANNEL_IPV6_SUBNET=fd00:10:0:34::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";
        Assert.Equal(
            """{"cniVersion":"1.0.0","ipMasq":true,"ipam":{"dataDir":"/var/lib/x","ranges":[[{"subnet":"10.5.52.0/24"}],[{"subnet":"fd00:10:0:34::/64"}]],"routes":[{"dst":"192.168.7.9/16","gw":"10.5.52.1"},{"dst":"10.5.0.0/16"},{"dst":"10.6.0.0/16"},{"dst":"fd00:10::/56"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"dual","type":"bridge"}""",
            Render("""{"cniVersion":"1.0.0","name":"dual","ipam":{"dataDir":"/var/lib/x","ranges":[[{"subnet":"1.2.3.0/24"}]],"routes":[{"dst":"192.168.7.9/16","gw":"10.5.52.1"}]}}""", env));
    }

    [Fact]
    public void Build_RuntimeConfig_MovesIntoDelegate()
    {
        Assert.Equal(
            """{"cniVersion":"1.0.0","ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.5.52.0/24"}]],"routes":[{"dst":"10.5.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"n","runtimeConfig":{"portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}]},"type":"bridge"}""",
            Render("""{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}}"""));
    }

    [Fact]
    public void Build_GoEncoding_EscapesHtmlAndWritesFloat64()
    {
        Assert.Equal(
            """{"big":1e+21,"cniVersion":"1.0.0","frac":0.000001,"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.5.52.0/24"}]],"routes":[{"dst":"10.5.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"n","note":"\u003ca\u003e \u0026 é\n\u2028\u0001","small":1e-7,"type":"bridge"}""",
            Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"note":"<a> & \u00e9\n\u2028\u0001","big":1000000000000000000000,"small":0.0000001,"frac":1e-6}}"""));
    }

    [Theory]
    [InlineData("""{"name":"n","delegate":{"name":"x"}}""", "'delegate' dictionary must not have 'name' field, it'll be set by flannel")]
    [InlineData("""{"name":"n","delegate":{"ipam":{}}}""", "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel")]
    [InlineData("""{"name":"n","delegate":{"type":7}}""", "'delegate' dictionary, if present, must have (string) 'type' field")]
    public void Build_ForbiddenDelegateKeys_FlannelsMessages(string netconf, string message)
    {
        var e = Assert.Throws<CniConfigException>(() => Render(netconf));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData(1500, "1500")]
    [InlineData(1.5, "1.5")]
    [InlineData(-2.25, "-2.25")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(1.23456789e-12, "1.23456789e-12")]
    [InlineData(123456.789, "123456.789")]
    [InlineData(0.1, "0.1")]
    public void FormatFloat_GoEncodingJson_SameText(double value, string expected)
    {
        Assert.Equal(expected, GoJson.FormatFloat(value));
    }
}
