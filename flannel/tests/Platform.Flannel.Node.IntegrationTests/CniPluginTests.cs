using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using Platform.Testing;
using Xunit.Abstractions;

namespace Platform.Flannel.Node.IntegrationTests;

/// <summary>
/// The built <c>flannel</c> CNI plugin with Debian's <c>bridge</c> and <c>host-local</c> from
/// /usr/lib/cni, exactly as a runtime calls it: a test "host" namespace holds the bridge (a
/// test-unique name) and pods are further namespaces; the plugin runs inside the host namespace.
/// </summary>
public sealed class CniPluginTests(ITestOutputHelper output) : IDisposable
{
    private const string Why = "creates network namespaces, bridges and veths";
    private const string CniPath = "/usr/lib/cni";

    private static readonly string s_plugin = Metadata("FlannelCniExecutable");

    /// <summary>
    /// The JIT build, and the executable `./platform build` publishes (NativeAOT when a C toolchain
    /// is there) when it is at least as new as that build, as under `./platform test`.
    /// </summary>
    public static TheoryData<string> Plugins()
    {
        var plugins = new TheoryData<string> { s_plugin };
        string published = Path.Combine(Metadata("RepositoryRoot"), "out", "bin", "cni", "flannel");
        if (File.Exists(published) && File.GetLastWriteTimeUtc(published) >= File.GetLastWriteTimeUtc(s_plugin + ".dll"))
        {
            plugins.Add(published);
        }

        return plugins;
    }

    private static string Metadata(string key) => typeof(CniPluginTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!;

    private readonly TestDirectory _dir = TestDirectory.Create(nameof(CniPluginTests));
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];

    public void Dispose() => _dir.Dispose();

    private string NetworkName => $"flt{_id}";

    private string BridgeName => $"cni{_id}";

    private string WriteSubnetEnv(int third, bool ipMasq = false)
    {
        string path = _dir.Combine("subnet.env");
        File.WriteAllText(path, $"FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.{third}.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ={(ipMasq ? "true" : "false")}\n");
        return path;
    }

    private string Netconf(string subnetFile, string extra = "") =>
        $$"""{"cniVersion":"1.0.0","name":"{{NetworkName}}","type":"flannel","subnetFile":"{{subnetFile}}","dataDir":"{{_dir.Combine("flannel")}}","ipam":{"dataDir":"{{_dir.Combine("ipam")}}"},"delegate":{"bridge":"{{BridgeName}}"}{{extra}}}""";

    private static Task<(int Code, string Stdout, string Stderr, TimeSpan Elapsed)> CallAsync(Netns host, string command, string containerId, Netns? pod, string netconf) =>
        CallAsync(s_plugin, host, command, containerId, pod, netconf);

    private static async Task<(int Code, string Stdout, string Stderr, TimeSpan Elapsed)> CallAsync(string plugin, Netns host, string command, string containerId, Netns? pod, string netconf)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = pod?.Path ?? "",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = CniPath,
        };
        var clock = Stopwatch.StartNew();
        (int code, string stdout, string stderr) = await host.ExecAsync([plugin], env, netconf);
        return (code, stdout, stderr, clock.Elapsed);
    }

    private static string Address(string addResult) =>
        JsonDocument.Parse(addResult).RootElement.GetProperty("ips")[0].GetProperty("address").GetString()!;

    [RootTheory(Why)]
    [MemberData(nameof(Plugins))]
    public async Task AddCheckDel_TwoPodsOnBridge_ReachEachOtherAndReleaseEverything(string plugin)
    {
        output.WriteLine($"plugin {plugin}");
        using Netns host = Netns.Create("flh");
        using Netns pod1 = Netns.Create("flp");
        using Netns pod2 = Netns.Create("flp");
        string netconf = Netconf(WriteSubnetEnv(42));

        var add1 = await CallAsync(plugin, host, "ADD", "pod-one", pod1, netconf);
        Assert.True(add1.Code == 0, $"ADD failed: {add1.Stdout} {add1.Stderr}");
        var add2 = await CallAsync(plugin, host, "ADD", "pod-two", pod2, netconf);
        Assert.True(add2.Code == 0, $"ADD failed: {add2.Stdout} {add2.Stderr}");
        output.WriteLine($"ADD took {add1.Elapsed.TotalMilliseconds:F0} ms and {add2.Elapsed.TotalMilliseconds:F0} ms");

        // Addresses from FLANNEL_SUBNET, gateway .1 on the bridge, the flannel network routed via it.
        string address1 = Address(add1.Stdout);
        string address2 = Address(add2.Stdout);
        Assert.StartsWith("10.77.42.", address1, StringComparison.Ordinal);
        Assert.EndsWith("/24", address1, StringComparison.Ordinal);
        Assert.NotEqual(address1, address2);
        Assert.Equal("10.77.42.1", JsonDocument.Parse(add1.Stdout).RootElement.GetProperty("ips")[0].GetProperty("gateway").GetString());
        Assert.Contains($"inet {address1}", await pod1.RunAsync("ip", "-4", "-o", "addr", "show", "dev", "eth0"), StringComparison.Ordinal);
        Assert.Contains("mtu 1400", await pod1.RunAsync("ip", "-o", "link", "show", "dev", "eth0"), StringComparison.Ordinal);
        Assert.Contains("10.77.0.0/16 via 10.77.42.1 dev eth0", await pod1.RunAsync("ip", "-4", "route", "show"), StringComparison.Ordinal);
        Assert.Contains("inet 10.77.42.1/24", await host.RunAsync("ip", "-4", "-o", "addr", "show", "dev", BridgeName), StringComparison.Ordinal);
        Assert.Equal(2, (await host.RunAsync("ip", "-o", "link", "show", "master", BridgeName)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(File.Exists(_dir.Combine("flannel", "pod-one")));

        // ICMP and TCP between the pods, across the host's bridge.
        IPAddress ip2 = IPAddress.Parse(address2.Split('/')[0]);
        Assert.Equal(IPStatus.Success, pod1.Run(() => new Ping().Send(ip2, 5000).Status));
        using Socket listener = pod2.Run(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(ip2, 0));
            socket.Listen();
            return socket;
        });
        using Socket client = pod1.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        Task<Socket> accepted = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(TimeSpan.FromSeconds(10));
        using Socket server = await accepted.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(IPAddress.Parse(address1.Split('/')[0]), ((IPEndPoint)server.RemoteEndPoint!).Address);

        // CHECK with the runtime's prevResult passes.
        string checkConf = Netconf(_dir.Combine("subnet.env"), $",\"prevResult\":{add1.Stdout}");
        var check = await CallAsync(plugin, host, "CHECK", "pod-one", pod1, checkConf);
        Assert.True(check.Code == 0, $"CHECK failed: {check.Stdout} {check.Stderr}");

        // DEL: veth and IP released, saved conf gone; a second DEL is a no-op success.
        string reservation = _dir.Combine("ipam", NetworkName, address1.Split('/')[0]);
        Assert.True(File.Exists(reservation));
        var del = await CallAsync(plugin, host, "DEL", "pod-one", pod1, netconf);
        Assert.True(del.Code == 0, $"DEL failed: {del.Stdout} {del.Stderr}");
        output.WriteLine($"DEL took {del.Elapsed.TotalMilliseconds:F0} ms");
        Assert.False(File.Exists(reservation));
        Assert.False(File.Exists(_dir.Combine("flannel", "pod-one")));
        Assert.Single((await host.RunAsync("ip", "-o", "link", "show", "master", BridgeName)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(1, (await pod1.ExecAsync(["ip", "link", "show", "dev", "eth0"])).Code);
        Assert.Equal(0, (await CallAsync(plugin, host, "DEL", "pod-one", pod1, netconf)).Code);
        Assert.Equal(0, (await CallAsync(plugin, host, "DEL", "pod-one", null, netconf)).Code);

        // CHECK of a deleted pod fails.
        Assert.NotEqual(0, (await CallAsync(plugin, host, "CHECK", "pod-one", pod1, checkConf)).Code);

        Assert.Equal(0, (await CallAsync(plugin, host, "DEL", "pod-two", pod2, netconf)).Code);
        Assert.Empty(await host.RunAsync("ip", "-o", "link", "show", "master", BridgeName));
    }

    [RootFact(Why)]
    public async Task Add_OlderSpecVersion_ResultInThatVersion()
    {
        using Netns host = Netns.Create("flh");
        using Netns pod = Netns.Create("flp");
        string netconf = Netconf(WriteSubnetEnv(43)).Replace("\"cniVersion\":\"1.0.0\"", "\"cniVersion\":\"0.3.1\"", StringComparison.Ordinal);

        var add = await CallAsync(host, "ADD", "old-spec", pod, netconf);
        Assert.True(add.Code == 0, $"ADD failed: {add.Stdout} {add.Stderr}");
        JsonElement result = JsonDocument.Parse(add.Stdout).RootElement;
        Assert.Equal("0.3.1", result.GetProperty("cniVersion").GetString());
        Assert.Equal("4", result.GetProperty("ips")[0].GetProperty("version").GetString());
        Assert.Equal(0, (await CallAsync(host, "DEL", "old-spec", pod, netconf)).Code);
    }

    [RootFact(Why)]
    public async Task Add_DelegateRefuses_ItsErrorRelayedWithExitCode1()
    {
        using Netns host = Netns.Create("flh");
        using Netns pod = Netns.Create("flp");
        // bridge rejects an unknown ipam type with its own error; flannel passes it through.
        string netconf = Netconf(WriteSubnetEnv(44)).Replace("\"ipam\":{", "\"ipam\":{\"type\":\"no-such-ipam\",", StringComparison.Ordinal);

        var add = await CallAsync(host, "ADD", "refused", pod, netconf);
        Assert.Equal(1, add.Code);
        JsonElement error = JsonDocument.Parse(add.Stdout).RootElement;
        Assert.True(error.GetProperty("code").GetUInt32() > 0);
        Assert.Contains("no-such-ipam", error.GetProperty("msg").GetString(), StringComparison.Ordinal);

        // The runtime's DEL after the failed ADD reaches bridge with the saved configuration, which
        // fails the same way; the configuration is kept for the next attempt.
        var del = await CallAsync(host, "DEL", "refused", pod, netconf);
        Assert.Equal(1, del.Code);
        Assert.Contains("no-such-ipam", JsonDocument.Parse(del.Stdout).RootElement.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.True(File.Exists(_dir.Combine("flannel", "refused")));
    }

    [Fact]
    public async Task Executable_MissingSubnetEnv_ErrorJsonOnStdoutExit1()
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD",
            ["CNI_CONTAINERID"] = "c1",
            ["CNI_NETNS"] = "/proc/1/ns/net",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = CniPath,
        };
        string missing = _dir.Combine("no-subnet.env");
        (int code, string stdout, _) = await Exec.RunAsync([s_plugin], env, Netconf(missing));
        Assert.Equal(1, code);
        JsonElement error = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("1.0.0", error.GetProperty("cniVersion").GetString());
        Assert.Equal(999u, error.GetProperty("code").GetUInt32());
        Assert.Equal($"loadFlannelSubnetEnv failed: open {missing}: no such file or directory", error.GetProperty("msg").GetString());
    }

    [Theory]
    [MemberData(nameof(Plugins))]
    public async Task Executable_NetnsIsItsOwn_Code8BeforeAnythingHappens(string plugin)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD",
            ["CNI_CONTAINERID"] = "own",
            ["CNI_NETNS"] = "/proc/self/ns/net",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = CniPath,
        };
        (int code, string stdout, _) = await Exec.RunAsync([plugin], env, Netconf(WriteSubnetEnv(45)));
        Assert.Equal(1, code);
        Assert.Equal(8u, JsonDocument.Parse(stdout).RootElement.GetProperty("code").GetUInt32());
        Assert.False(Directory.Exists(_dir.Combine("flannel")));
    }

    [Fact]
    public async Task Executable_Version_MatchesSkel()
    {
        (int code, string stdout, _) = await Exec.RunAsync([s_plugin], new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" });
        Assert.Equal(0, code);
        Assert.Equal("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n", stdout);
    }
}
