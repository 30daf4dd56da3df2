using Platform.Testing;

namespace Platform.Rkt.Networking.Tests;

/// <summary>Configuration errors stop <see cref="IPodNetworking.SetupAsync"/> before any plugin runs: nothing is written.</summary>
public sealed class SetupValidationTests
{
    private static async Task<NetworkConfigException> SetupFails(TestDirectory dir, string net, params (string, string, int, int, string?)[] ports)
    {
        Directory.CreateDirectory(dir.Combine("pod"));
        File.WriteAllText(dir.Combine("netns"), string.Empty);
        IPodNetworking networking = PodNetworkings.Create(new PodNetworkingOptions
        {
            LocalConfigDir = dir.Combine("etc"),
            SystemConfigDir = dir.Combine("usr"),
            PluginDirs = [dir.Combine("plugins")],
            DataDir = dir.Combine("data"),
        });
        var request = new PodNetworkRequest(Guid.NewGuid().ToString(), dir.Combine("pod"), dir.Combine("netns"), NetFlag.Parse(net), ports);
        var e = await Assert.ThrowsAsync<NetworkConfigException>(() => networking.SetupAsync(request, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Combine("pod")));
        Assert.False(Directory.Exists(dir.Combine("data")));
        return e;
    }

    private static TestDirectory WithNet(string name, string json, params string[] plugins)
    {
        var dir = TestDirectory.Create(name);
        Directory.CreateDirectory(dir.Combine("etc", "net.d"));
        File.WriteAllText(dir.Combine("etc", "net.d", "10-n.conf"), json);
        Directory.CreateDirectory(dir.Combine("plugins"));
        foreach (string plugin in plugins)
        {
            File.WriteAllText(dir.Combine("plugins", plugin), "#!/bin/sh\nexit 1\n");
        }

        return dir;
    }

    [Fact]
    public async Task SetupAsync_MissingPluginBinary_NamesPluginAndDirectories()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_MissingPluginBinary_NamesPluginAndDirectories), """{"name":"n","type":"macvlan2","ipam":{"type":"host-local"}}""", "host-local", "ptp");

        NetworkConfigException e = await SetupFails(dir, "n");

        Assert.Contains("plugin \"macvlan2\" not found in", e.Message, StringComparison.Ordinal);
        Assert.Contains(dir.Combine("plugins"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetupAsync_MissingIpamBinary_Rejected()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_MissingIpamBinary_Rejected), """{"name":"n","type":"ptp","ipam":{"type":"whereabouts"}}""", "ptp", "host-local");

        Assert.Contains("plugin \"whereabouts\" not found", (await SetupFails(dir, "n")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetupAsync_MalformedNetD_Rejected()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_MalformedNetD_Rejected), """{"name":"n", """, "ptp", "host-local");

        Assert.Contains("malformed JSON", (await SetupFails(dir, "default")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetupAsync_UnknownNetwork_Rejected()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_UnknownNetwork_Rejected), """{"name":"n","type":"ptp"}""", "ptp", "host-local");

        Assert.Equal("networks not found: nope", (await SetupFails(dir, "n,nope")).Message);
    }

    [Fact]
    public async Task SetupAsync_BadPorts_Rejected()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_BadPorts_Rejected), """{"name":"n","type":"ptp","ipMasq":true}""", "ptp", "host-local", "portmap");

        Assert.Contains("unknown protocol \"icmp\"", (await SetupFails(dir, "n", ("p", "icmp", 80, 8080, null))).Message, StringComparison.Ordinal);
        Assert.Contains("ports must be 1-65535", (await SetupFails(dir, "n", ("p", "tcp", 0, 8080, null))).Message, StringComparison.Ordinal);
        Assert.Contains("is not an IP address", (await SetupFails(dir, "n", ("p", "tcp", 80, 8080, "nope"))).Message, StringComparison.Ordinal);
        Assert.Contains("--port needs a pod network", (await SetupFails(dir, "none", ("p", "tcp", 80, 8080, null))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetupAsync_PortOnLegacyCniVersion_Rejected()
    {
        using TestDirectory dir = WithNet(nameof(SetupAsync_PortOnLegacyCniVersion_Rejected), """{"cniVersion":"0.2.0","name":"n","type":"ptp","ipMasq":true}""", "ptp", "host-local", "portmap");

        Assert.Contains("needs cniVersion 0.3.0 or later", (await SetupFails(dir, "n", ("p", "tcp", 80, 8080, null))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetupAsync_Host_DoesNothing()
    {
        IPodNetworking networking = PodNetworkings.Create(new PodNetworkingOptions { LocalConfigDir = "/nonexistent" });
        PodNetworkStatus status = await networking.SetupAsync(new PodNetworkRequest("u", "/nonexistent", "/nonexistent", NetFlag.Parse("host"), []), CancellationToken.None);
        Assert.Empty(status.Attachments);
    }

    [Fact]
    public async Task TeardownAsync_NothingRecorded_NoOp()
    {
        using var dir = TestDirectory.Create(nameof(TeardownAsync_NothingRecorded_NoOp));
        await PodNetworkings.Create(new PodNetworkingOptions()).TeardownAsync(dir.Path, "u", CancellationToken.None);
        Assert.Empty(NetInfo.Load(dir.Path));
    }
}
