using System.Text;
using System.Text.Json.Nodes;
using Platform.Testing;

namespace Platform.Rkt.Networking.Tests;

public sealed class NetworkConfigTests
{
    private static NetworkDefinition Load(string json, bool list = false) =>
        NetworkConfigLoader.LoadFile("/x/net.d/10-n.conf", Encoding.UTF8.GetBytes(json), list);

    [Theory]
    [InlineData("{\"name\":", "malformed JSON")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("{\"type\":\"ptp\"}", "missing or empty string \"name\"")]
    [InlineData("{\"name\":\"n\"}", "missing or empty string \"type\"")]
    [InlineData("{\"name\":\"host\",\"type\":\"ptp\"}", "network name \"host\" is reserved")]
    [InlineData("{\"name\":\"all\",\"type\":\"ptp\"}", "network name \"all\" is reserved")]
    [InlineData("{\"name\":\"a b\",\"type\":\"ptp\"}", "invalid network name")]
    [InlineData("{\"name\":\"n\",\"type\":\"../../bin/sh\"}", "must be a plain executable name")]
    [InlineData("{\"name\":\"n\",\"type\":\"ptp\",\"ipam\":{}}", "missing or empty string \"type\"")]
    [InlineData("{\"name\":\"n\",\"type\":\"ptp\",\"plugins\":[]}", "name the file .conflist")]
    public void LoadFile_Invalid_NamesFileAndProblem(string json, string expected)
    {
        var e = Assert.Throws<NetworkConfigException>(() => Load(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("/x/net.d/10-n.conf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_Conf_NormalisedToOnePluginWithDefaultVersion()
    {
        NetworkDefinition net = Load("""{"name":"n","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"10.1.0.0/24"}}""");

        Assert.Equal(("n", NetworkConfigLoader.DefaultCniVersion), (net.Name, net.CniVersion));
        JsonObject plugin = Assert.Single(net.Plugins);
        Assert.Null(plugin["name"]);
        Assert.Equal("ptp", (string?)plugin["type"]);
        Assert.True(net.IpMasq);
    }

    [Fact]
    public void LoadFile_Conflist_KeepsChainAndVersion()
    {
        NetworkDefinition net = Load("""{"cniVersion":"1.0.0","name":"l","plugins":[{"type":"bridge","bridge":"b0"},{"type":"portmap","capabilities":{"portMappings":true}}]}""", list: true);

        Assert.Equal("1.0.0", net.CniVersion);
        Assert.Equal(["bridge", "portmap"], net.Plugins.Select(p => (string?)p["type"]));
        Assert.False(net.IpMasq);
    }

    [Fact]
    public void LoadFile_ConflistWithoutPlugins_Rejected()
    {
        var e = Assert.Throws<NetworkConfigException>(() => Load("""{"name":"l","plugins":[]}""", list: true));
        Assert.Contains("non-empty \"plugins\" array", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadDirectory_SortedByFileName_OtherFilesIgnored_DuplicatesRejected()
    {
        using var dir = TestDirectory.Create(nameof(LoadDirectory_SortedByFileName_OtherFilesIgnored_DuplicatesRejected));
        File.WriteAllText(dir.Combine("20-b.conf"), """{"name":"b","type":"ptp"}""");
        File.WriteAllText(dir.Combine("10-a.conflist"), """{"name":"a","plugins":[{"type":"bridge"}]}""");
        File.WriteAllText(dir.Combine("README"), "not a config");

        Assert.Equal(["a", "b"], NetworkConfigLoader.LoadDirectory(dir.Path).Select(n => n.Name));

        File.WriteAllText(dir.Combine("30-b.conf"), """{"name":"b","type":"bridge"}""");
        var e = Assert.Throws<NetworkConfigException>(() => NetworkConfigLoader.LoadDirectory(dir.Path));
        Assert.Contains("network \"b\" is defined twice", e.Message, StringComparison.Ordinal);
        Assert.Empty(NetworkConfigLoader.LoadDirectory(dir.Combine("missing")));
    }

    [Fact]
    public void Resolve_RktOrder_UserNetsByFileThenDefaultRestricted()
    {
        NetworkDefinition a = Load("""{"name":"a","type":"ptp"}""");
        NetworkDefinition b = Load("""{"name":"b","type":"bridge"}""");

        var chosen = NetworkConfigLoader.Resolve(NetFlag.Parse("b,a:IP=10.0.0.5"), [a, b]);

        Assert.Equal(["a", "b", "default-restricted"], chosen.Select(c => c.Definition.Name));
        Assert.Equal("10.0.0.5", chosen[0].Selection.Args["IP"]);
        Assert.Equal("172.16.28.0/24", (string?)chosen[2].Definition.Plugins[0]["ipam"]!["subnet"]);
        Assert.False(chosen[2].Definition.IpMasq);
        Assert.Null(chosen[2].Definition.Plugins[0]["ipam"]!["routes"]);
    }

    [Fact]
    public void Resolve_Default_BuiltInPtpWithMasqueradeAndRoute()
    {
        var chosen = NetworkConfigLoader.Resolve(NetFlag.Default, []);

        NetworkDefinition net = Assert.Single(chosen).Definition;
        Assert.Equal(("default", "ptp", true), (net.Name, (string?)net.Plugins[0]["type"], net.IpMasq));
        Assert.Equal("0.0.0.0/0", (string?)net.Plugins[0]["ipam"]!["routes"]![0]!["dst"]);
    }

    [Fact]
    public void Resolve_UserOverridesDefault_AllSelectsEverything()
    {
        NetworkDefinition mine = Load("""{"name":"default","type":"bridge"}""");
        NetworkDefinition other = Load("""{"name":"other","type":"ptp"}""");

        Assert.Equal("bridge", (string?)Assert.Single(NetworkConfigLoader.Resolve(NetFlag.Default, [mine, other])).Definition.Plugins[0]["type"]);
        Assert.Equal(["other", "default"], NetworkConfigLoader.Resolve(NetFlag.Parse("all"), [other]).Select(c => c.Definition.Name));
        Assert.Empty(NetworkConfigLoader.Resolve(NetFlag.Parse("none"), [other]));
        Assert.Empty(NetworkConfigLoader.Resolve(NetFlag.Parse("host"), [other]));
    }

    [Fact]
    public void Resolve_UserDefaultRestricted_ReplacesImplicitBuiltIn()
    {
        NetworkDefinition mine = Load("""{"name":"default-restricted","type":"bridge"}""");
        NetworkDefinition other = Load("""{"name":"other","type":"ptp"}""");

        var chosen = NetworkConfigLoader.Resolve(NetFlag.Parse("other"), [mine, other]);

        Assert.Equal(["other", "default-restricted"], chosen.Select(c => c.Definition.Name));
        Assert.Same(mine, chosen[1].Definition);
    }

    [Fact]
    public void Resolve_UnknownNetworks_ListsThem()
    {
        var e = Assert.Throws<NetworkConfigException>(() => NetworkConfigLoader.Resolve(NetFlag.Parse("x,default,y"), []));
        Assert.Equal("networks not found: x, y", e.Message);
    }
}
