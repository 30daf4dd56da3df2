using System.Text.Json.Nodes;
using Platform.Testing;

namespace Platform.Rkt.Networking.Tests;

/// <summary>
/// The CNI protocol as the runtime drives it, against shell-script plugins that log every call and
/// answer like real ones: order, interface names, CNI_* variables, chaining with prevResult, DEL in
/// reverse, rollback, and teardown that can be retried. No root needed: the fake plugins touch nothing.
/// </summary>
public sealed class FakePluginTests : IDisposable
{
    private readonly TestDirectory _dir = TestDirectory.Create(nameof(FakePluginTests));
    private readonly IPodNetworking _networking;
    private readonly string _pod;
    private readonly string _uuid = Guid.NewGuid().ToString();

    public FakePluginTests()
    {
        Directory.CreateDirectory(_dir.Combine("etc", "net.d"));
        Directory.CreateDirectory(_dir.Combine("plugins"));
        _pod = _dir.Combine("pod");
        Directory.CreateDirectory(_pod);
        File.WriteAllText(_dir.Combine("netns"), string.Empty);
        foreach (string name in new[] { "fake", "fake2" })
        {
            string script = $$$"""
                #!/bin/sh
                conf=$(cat)
                printf '%s %s %s [%s] %s netns=%s %s\n' "$CNI_COMMAND" "$CNI_IFNAME" "$CNI_CONTAINERID" "$CNI_ARGS" "{{{name}}}" "$CNI_NETNS" "$conf" >> "{{{_dir.Combine("calls.log")}}}"
                n=$(echo "$CNI_IFNAME" | tr -dc 0-9)
                case "$CNI_COMMAND" in
                ADD)
                  if echo "$conf" | grep -q '"failadd":true'; then
                    echo '{"cniVersion":"0.4.0","code":11,"msg":"boom","details":"on purpose"}'; exit 1
                  fi
                  echo "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"host$n\"},{\"name\":\"$CNI_IFNAME\",\"sandbox\":\"$CNI_NETNS\"}],\"ips\":[{\"version\":\"4\",\"address\":\"10.0.$n.2/24\",\"gateway\":\"10.0.$n.1\",\"interface\":1}],\"dns\":{\"nameservers\":[\"10.0.$n.53\"],\"search\":[\"n$n.example\"]}}"
                  ;;
                DEL)
                  if echo "$conf" | grep -q '"faildel":true' && [ ! -f "{{{_dir.Combine("allow-del")}}}" ]; then
                    echo '{"cniVersion":"0.4.0","code":7,"msg":"del failed"}'; exit 1
                  fi
                  ;;
                esac
                """;
            File.WriteAllText(_dir.Combine("plugins", name), script.Replace("\r", string.Empty, StringComparison.Ordinal) + "\n");
            File.SetUnixFileMode(_dir.Combine("plugins", name), (UnixFileMode)0b111_101_101);
        }

        Net("10-a.conf", """{"name":"a","type":"fake"}""");
        Net("20-b.conflist", """{"cniVersion":"0.4.0","name":"b","plugins":[{"type":"fake"},{"type":"fake2"}]}""");
        Net("99-default-restricted.conf", """{"name":"default-restricted","type":"fake"}""");
        _networking = PodNetworkings.Create(new PodNetworkingOptions
        {
            LocalConfigDir = _dir.Combine("etc"),
            SystemConfigDir = _dir.Combine("usr"),
            PluginDirs = [_dir.Combine("plugins")],
            DataDir = _dir.Combine("data"),
        });
    }

    public void Dispose() => _dir.Dispose();

    private void Net(string file, string json) => File.WriteAllText(_dir.Combine("etc", "net.d", file), json);

    private PodNetworkRequest Request(string net) => new(_uuid, _pod, _dir.Combine("netns"), NetFlag.Parse(net), []);

    private List<string> TakeCalls()
    {
        string log = _dir.Combine("calls.log");
        List<string> calls = File.Exists(log) ? File.ReadAllLines(log).ToList() : [];
        File.Delete(log);
        return calls;
    }

    [Fact]
    public async Task SetupAsync_FileOrderIfNamesArgsChainingAndStatus()
    {
        PodNetworkStatus status = await _networking.SetupAsync(Request("b:K=V,a"), CancellationToken.None);

        List<string> calls = TakeCalls();
        Assert.Equal(4, calls.Count);
        Assert.StartsWith($"ADD eth0 {_uuid} [] fake netns={_dir.Combine("netns")} ", calls[0], StringComparison.Ordinal);
        Assert.StartsWith($"ADD eth1 {_uuid} [K=V] fake ", calls[1], StringComparison.Ordinal);
        Assert.StartsWith($"ADD eth1 {_uuid} [K=V] fake2 ", calls[2], StringComparison.Ordinal);
        Assert.StartsWith($"ADD eth2 {_uuid} [] fake ", calls[3], StringComparison.Ordinal);
        JsonObject second = Stdin(calls[2]);
        Assert.Equal(("b", "0.4.0"), ((string?)second["name"], (string?)second["cniVersion"]));
        Assert.Equal("10.0.1.2/24", (string?)second["prevResult"]!["ips"]![0]!["address"]);
        Assert.Null(Stdin(calls[1])["prevResult"]);

        Assert.Equal(["a/eth0/10.0.0.2/24/10.0.0.1", "b/eth1/10.0.1.2/24/10.0.1.1", "default-restricted/eth2/10.0.2.2/24/10.0.2.1"],
            status.Attachments.Select(x => $"{x.NetName}/{x.IfName}/{x.IPv4Cidr}/{x.Gateway}"));
        Assert.Equal(["10.0.0.53"], status.Nameservers);
        Assert.Equal(["n0.example"], status.Search);
        Assert.Equal(status.Attachments, NetInfo.Load(_pod));
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(_pod, NetInfo.FileName)))!.AsArray();
        Assert.Equal(["a", "b", "default-restricted"], file.Select(r => (string?)r!["netName"]));
        Assert.Equal("255.255.255.0", (string?)file[0]!["mask"]);
    }

    [Fact]
    public async Task TeardownAsync_ReverseOrderWithPrevResult_ThenNoOp()
    {
        await _networking.SetupAsync(Request("a,b"), CancellationToken.None);
        TakeCalls();

        await _networking.TeardownAsync(_pod, _uuid, CancellationToken.None);

        List<string> calls = TakeCalls();
        Assert.Equal(["DEL eth2 fake", "DEL eth1 fake2", "DEL eth1 fake", "DEL eth0 fake"], calls.Select(c => string.Join(' ', c.Split(' ').Where((_, i) => i is 0 or 1 or 4))));
        Assert.All(calls, c => Assert.Contains(" netns= ", c, StringComparison.Ordinal)); // not a namespace mount: DEL without one
        Assert.Equal("10.0.1.2/24", (string?)Stdin(calls[1])["prevResult"]!["ips"]![0]!["address"]);
        Assert.False(File.Exists(Path.Combine(_pod, NetInfo.FileName)));

        await _networking.TeardownAsync(_pod, _uuid, CancellationToken.None);
        Assert.Empty(TakeCalls());
    }

    [Fact]
    public async Task SetupAsync_SecondNetworkFails_FirstDeletedPluginMessageKept()
    {
        Net("20-b.conflist", """{"cniVersion":"0.4.0","name":"b","plugins":[{"type":"fake"},{"type":"fake2","failadd":true}]}""");

        var e = await Assert.ThrowsAsync<CniPluginException>(() => _networking.SetupAsync(Request("a,b"), CancellationToken.None));

        Assert.Equal("network \"b\": ADD fake2: boom; on purpose", e.Message);
        Assert.Equal(11, e.Code);
        List<string> calls = TakeCalls();
        Assert.Equal(["ADD eth0 fake", "ADD eth1 fake", "ADD eth1 fake2", "DEL eth1 fake2", "DEL eth1 fake", "DEL eth0 fake"],
            calls.Select(c => string.Join(' ', c.Split(' ').Where((_, i) => i is 0 or 1 or 4))));
        Assert.False(File.Exists(Path.Combine(_pod, NetInfo.FileName)));
    }

    [Fact]
    public async Task TeardownAsync_DelFails_FailedNetworkStaysRecordedForRetry()
    {
        Net("10-a.conf", """{"name":"a","type":"fake","faildel":true}""");
        await _networking.SetupAsync(Request("a,b"), CancellationToken.None);

        var e = await Assert.ThrowsAsync<CniPluginException>(() => _networking.TeardownAsync(_pod, _uuid, CancellationToken.None));

        Assert.Contains("network \"a\": DEL fake: del failed", e.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], JsonNode.Parse(File.ReadAllText(Path.Combine(_pod, NetInfo.FileName)))!.AsArray().Select(r => (string?)r!["netName"]));
        File.WriteAllText(_dir.Combine("allow-del"), string.Empty);
        TakeCalls();

        await _networking.TeardownAsync(_pod, _uuid, CancellationToken.None);

        Assert.Equal(["DEL eth0"], TakeCalls().Select(c => string.Join(' ', c.Split(' ').Take(2))));
        Assert.False(File.Exists(Path.Combine(_pod, NetInfo.FileName)));
    }

    [Fact]
    public async Task TeardownAsync_RecordOfInterruptedAdd_StillDeletedFromStoredConfig()
    {
        await _networking.SetupAsync(Request("a"), CancellationToken.None);
        // As if stage0 died between ADD and recording its result, and net.d changed since.
        string path = Path.Combine(_pod, NetInfo.FileName);
        var records = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        records[0]!["complete"] = false;
        records[0]!["result"] = null;
        File.WriteAllText(path, records.ToJsonString());
        File.Delete(_dir.Combine("etc", "net.d", "10-a.conf"));
        TakeCalls();

        Assert.Equal(["default-restricted"], NetInfo.Load(_pod).Select(n => n.NetName)); // incomplete records are not attachments
        await _networking.TeardownAsync(_pod, _uuid, CancellationToken.None);

        List<string> calls = TakeCalls();
        Assert.Equal(["DEL eth1", "DEL eth0"], calls.Select(c => string.Join(' ', c.Split(' ').Take(2))));
        Assert.Null(Stdin(calls[1])["prevResult"]);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task SetupAsync_AlreadyRecorded_Refused()
    {
        await _networking.SetupAsync(Request("a"), CancellationToken.None);
        TakeCalls();

        var e = await Assert.ThrowsAsync<NetworkConfigException>(() => _networking.SetupAsync(Request("a"), CancellationToken.None));

        Assert.Contains("already records networks", e.Message, StringComparison.Ordinal);
        Assert.Empty(TakeCalls());
    }

    [Fact]
    public async Task SetupAsync_Ports_PortmapAppendedOnMasqueradingNetworkWithRuntimeConfig()
    {
        Net("10-a.conf", """{"name":"a","type":"fake"}""");
        Net("30-c.conf", """{"name":"c","type":"fake","ipMasq":true}""");
        File.Copy(_dir.Combine("plugins", "fake2"), _dir.Combine("plugins", "portmap"));
        var request = new PodNetworkRequest(_uuid, _pod, _dir.Combine("netns"), NetFlag.Parse("a,c"), [("http", "TCP", 80, 8080, "127.0.0.1")]);

        await _networking.SetupAsync(request, CancellationToken.None);

        List<string> calls = TakeCalls();
        Assert.Equal(["ADD eth0 fake", "ADD eth1 fake", "ADD eth1 fake2", "ADD eth2 fake"], calls.Select(c => string.Join(' ', c.Split(' ').Where((_, i) => i is 0 or 1 or 4))));
        JsonObject portmap = Stdin(calls[2]);
        Assert.Equal("portmap", (string?)portmap["type"]);
        Assert.Equal("""[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]""", portmap["runtimeConfig"]!["portMappings"]!.ToJsonString());
        Assert.Null(Stdin(calls[1])["runtimeConfig"]);
    }

    [Fact]
    public async Task SetupAsync_PluginDiesWithoutCniError_ExitStatusAndStderrReported()
    {
        Script("quitter", "[ \"$CNI_COMMAND\" = ADD ] || exit 0\necho 'cannot frobnicate' >&2\nexit 3");
        Net("10-a.conf", """{"name":"a","type":"quitter"}""");

        var e = await Assert.ThrowsAsync<CniPluginException>(() => _networking.SetupAsync(Request("a"), CancellationToken.None));

        Assert.Equal("network \"a\": ADD quitter: exit status 3: cannot frobnicate", e.Message);
        Assert.False(File.Exists(Path.Combine(_pod, NetInfo.FileName)));
    }

    [Fact]
    public async Task SetupAsync_PluginHangs_KilledAfterTimeoutAndUndone()
    {
        Script("sleeper", "exec sleep 60");
        Net("10-a.conf", """{"name":"a","type":"fake"}""");
        Net("30-c.conf", """{"name":"c","type":"sleeper"}""");
        IPodNetworking quick = PodNetworkings.Create(new PodNetworkingOptions
        {
            LocalConfigDir = _dir.Combine("etc"),
            SystemConfigDir = _dir.Combine("usr"),
            PluginDirs = [_dir.Combine("plugins")],
            DataDir = _dir.Combine("data"),
            PluginTimeout = TimeSpan.FromSeconds(1),
        });

        var e = await Assert.ThrowsAsync<CniPluginException>(() => quick.SetupAsync(Request("a,c"), CancellationToken.None));

        Assert.Contains("network \"c\": ADD sleeper: no answer after 1 s; killed", e.Message, StringComparison.Ordinal);
        Assert.Contains(TakeCalls(), c => c.StartsWith("DEL eth0", StringComparison.Ordinal));
    }

    private void Script(string name, string body)
    {
        File.WriteAllText(_dir.Combine("plugins", name), "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(_dir.Combine("plugins", name), (UnixFileMode)0b111_101_101);
    }

    /// <summary>The JSON configuration a logged call got on stdin.</summary>
    private static JsonObject Stdin(string call) => (JsonObject)JsonNode.Parse(call[call.IndexOf('{', StringComparison.Ordinal)..])!;
}
