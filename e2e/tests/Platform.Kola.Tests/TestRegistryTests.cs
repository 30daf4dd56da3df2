using Platform.Kola.Registry;

namespace Platform.Kola.Tests;

public sealed class TestRegistryTests
{
    private static KolaTest Test(string name, string[]? platforms = null, string[]? exclude = null) => new()
    {
        Name = name,
        Run = (_, _) => Task.CompletedTask,
        Platforms = platforms ?? [],
        ExcludePlatforms = exclude ?? [],
    };

    [Fact]
    public void Register_SameNameTwice_Throws()
    {
        var registry = new TestRegistry().Register(Test("etcd.discovery"));

        var e = Assert.Throws<ArgumentException>(() => registry.Register(Test("etcd.discovery")));
        Assert.Contains("etcd.discovery is registered twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_NegativeClusterSize_Throws() =>
        Assert.Throws<ArgumentException>(() => new TestRegistry().Register(Test("x") with { ClusterSize = -1 }));

    [Fact]
    public void Select_FiltersByGlobAndPlatform_InRegistrationOrder()
    {
        var registry = new TestRegistry()
            .Register(Test("flannel.vxlan"))
            .Register(Test("etcd.discovery"))
            .Register(Test("flannel.udp", platforms: ["qemu"]))
            .Register(Test("flannel.hostgw", exclude: ["netns"]))
            .Register(Test("flannel.alloc", platforms: ["netns", "qemu"]));

        Assert.Equal(["flannel.vxlan", "flannel.alloc"], registry.Select("flannel.*", "netns").Select(t => t.Name));
        Assert.Equal(["flannel.vxlan", "flannel.udp", "flannel.hostgw", "flannel.alloc"], registry.Select("flannel.*", "qemu").Select(t => t.Name));
        Assert.Equal(["etcd.discovery"], registry.Select("etcd.discovery", "netns").Select(t => t.Name));
    }
}
