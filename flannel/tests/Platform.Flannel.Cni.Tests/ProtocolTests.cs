using System.Text;
using System.Text.Json;
using Platform.Flannel.Cni.Cni;
using Platform.Testing;

namespace Platform.Flannel.Cni.Tests;

/// <summary>The CNI protocol (libcni skel's rules) and ADD/DEL/CHECK against a recording delegate.</summary>
public sealed class ProtocolTests : IDisposable
{
    private readonly TestDirectory _dir = TestDirectory.Create(nameof(ProtocolTests));
    private readonly RecordingDelegate _delegate = new();

    public void Dispose() => _dir.Dispose();

    private string SubnetFile()
    {
        string path = _dir.Combine("subnet.env");
        File.WriteAllText(path, "FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
        return path;
    }

    private string Netconf(string version = "1.0.0", string extra = "") =>
        $$"""{"cniVersion":"{{version}}","name":"cbr0","type":"flannel","subnetFile":"{{SubnetFile()}}","dataDir":"{{_dir.Combine("data")}}"{{extra}}}""";

    private (int Code, string Stdout, string Stderr) Run(Dictionary<string, string> env, string stdin)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var plugin = new FlannelPlugin(_delegate, stderr);
        int code = CniDispatcher.Run(plugin, name => env.GetValueOrDefault(name), new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr, "CNI Plugin flannel test");
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static Dictionary<string, string> Env(string command, string containerId = "c1") => new()
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = containerId,
        ["CNI_NETNS"] = "/var/run/netns/does-not-matter",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = "/opt/cni/bin",
    };

    private static JsonElement Error(string stdout) => JsonDocument.Parse(stdout).RootElement;

    [Fact]
    public void Version_PrintsSupportedVersions()
    {
        (int code, string stdout, _) = Run(new() { ["CNI_COMMAND"] = "VERSION" }, "");
        Assert.Equal(0, code);
        Assert.Equal("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n", stdout);
    }

    [Fact]
    public void NoCommand_AboutOnStderr_ExitZero()
    {
        (int code, string stdout, string stderr) = Run([], "");
        Assert.Equal(0, code);
        Assert.Empty(stdout);
        Assert.Contains("CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_MissingVariables_Code4ListsThemInSkelOrder()
    {
        (int code, string stdout, _) = Run(new() { ["CNI_COMMAND"] = "ADD" }, Netconf());
        Assert.Equal(1, code);
        Assert.Equal(
            "{\n    \"cniVersion\": \"1.0.0\",\n    \"code\": 4,\n    \"msg\": \"required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing\"\n}\n",
            stdout);
    }

    [Fact]
    public void Del_WithoutNetns_Allowed()
    {
        Dictionary<string, string> env = Env("DEL");
        env.Remove("CNI_NETNS");
        (int code, string stdout, _) = Run(env, Netconf());
        Assert.Equal(0, code);
        Assert.Empty(stdout);
    }

    [Theory]
    [InlineData("ADD", "c/1", "eth0", 4u, "invalid characters in containerID")]
    [InlineData("ADD", "c1", "averyverylongname", 4u, "interface name is too long")]
    [InlineData("ADD", "c1", "eth 0", 4u, "interface name contains / or : or whitespace characters")]
    [InlineData("FROB", "c1", "eth0", 4u, "unknown CNI_COMMAND: FROB")]
    public void Invocation_BadValues_SkelErrors(string command, string containerId, string ifName, uint expectedCode, string message)
    {
        Dictionary<string, string> env = Env(command, containerId);
        env["CNI_IFNAME"] = ifName;
        (int code, string stdout, _) = Run(env, Netconf());
        Assert.Equal(1, code);
        Assert.Equal(expectedCode, Error(stdout).GetProperty("code").GetUInt32());
        Assert.Equal(message, Error(stdout).GetProperty("msg").GetString());
        Assert.Empty(_delegate.Calls);
    }

    [Theory]
    [InlineData("not json", 6u, "error unmarshall network config: ")]
    [InlineData("""{"cniVersion":"1.0.0"}""", 7u, "missing network name")]
    [InlineData("""{"cniVersion":"1.0.0","name":"a b"}""", 7u, "invalid characters found in network name")]
    [InlineData("""{"cniVersion":"9.9.9","name":"n"}""", 1u, "incompatible CNI versions")]
    public void Add_BadConfig_Errors(string netconf, uint expectedCode, string messageStart)
    {
        (int code, string stdout, _) = Run(Env("ADD"), netconf);
        Assert.Equal(1, code);
        Assert.Equal(expectedCode, Error(stdout).GetProperty("code").GetUInt32());
        Assert.StartsWith(messageStart, Error(stdout).GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_IncompatibleVersion_DetailsAsLibcni()
    {
        (_, string stdout, _) = Run(Env("ADD"), """{"cniVersion":"9.9.9","name":"n"}""");
        Assert.Equal("config is \"9.9.9\", plugin supports [\"0.1.0\" \"0.2.0\" \"0.3.0\" \"0.3.1\" \"0.4.0\" \"1.0.0\"]", Error(stdout).GetProperty("details").GetString());
        Assert.Equal("9.9.9", Error(stdout).GetProperty("cniVersion").GetString());
    }

    [Fact]
    public void Check_OldConfigVersion_Refused()
    {
        (int code, string stdout, _) = Run(Env("CHECK"), Netconf("0.3.1"));
        Assert.Equal(1, code);
        Assert.Equal("config version does not allow CHECK", Error(stdout).GetProperty("msg").GetString());
    }

    [Fact]
    public void Add_SavesRenderedConfAndRelaysDelegateResult()
    {
        _delegate.Output = "{\n    \"cniVersion\": \"1.0.0\",\n    \"ips\": []\n}";
        (int code, string stdout, string stderr) = Run(Env("ADD", "pod-1"), Netconf());
        Assert.Equal(0, code);
        Assert.Equal(_delegate.Output, stdout);
        (string type, string command, string config) = Assert.Single(_delegate.Calls);
        Assert.Equal(("bridge", "ADD"), (type, command));
        Assert.Equal(config, File.ReadAllText(_dir.Combine("data", "pod-1")));
        Assert.StartsWith("{\"cniVersion\":\"1.0.0\",\"ipMasq\":true,", config, StringComparison.Ordinal);
        Assert.Contains("delegateAdd: netconf sent to delegate plugin:", stderr, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.Combine("data", "pod-1")));
        }
    }

    [Fact]
    public void Add_DelegateError_RelayedAsIs()
    {
        _delegate.Failure = new CniException(7, "bridge said no", "why");
        (int code, string stdout, _) = Run(Env("ADD"), Netconf());
        Assert.Equal(1, code);
        Assert.Equal(7u, Error(stdout).GetProperty("code").GetUInt32());
        Assert.Equal("bridge said no", Error(stdout).GetProperty("msg").GetString());
        Assert.Equal("why", Error(stdout).GetProperty("details").GetString());
    }

    [Fact]
    public void Add_MissingSubnetFile_FlannelsMessage()
    {
        (int code, string stdout, _) = Run(Env("ADD"), """{"cniVersion":"1.0.0","name":"n","subnetFile":"/nonexistent/subnet.env"}""");
        Assert.Equal(1, code);
        Assert.Equal(999u, Error(stdout).GetProperty("code").GetUInt32());
        Assert.Equal("loadFlannelSubnetEnv failed: open /nonexistent/subnet.env: no such file or directory", Error(stdout).GetProperty("msg").GetString());
        Assert.Empty(_delegate.Calls);
    }

    [Fact]
    public void Add_ForbiddenDelegateName_NothingSaved()
    {
        (int code, string stdout, _) = Run(Env("ADD"), Netconf(extra: ""","delegate":{"name":"x"}"""));
        Assert.Equal(1, code);
        Assert.Equal("'delegate' dictionary must not have 'name' field, it'll be set by flannel", Error(stdout).GetProperty("msg").GetString());
        Assert.False(Directory.Exists(_dir.Combine("data")));
    }

    [Fact]
    public void Del_AfterAdd_UsesSavedConfThenRemovesIt_SecondDelIsNoOp()
    {
        Assert.Equal(0, Run(Env("ADD", "pod-2"), Netconf()).Code);
        string saved = File.ReadAllText(_dir.Combine("data", "pod-2"));

        // The DEL netconf may differ (e.g. subnet.env gone): the saved rendering is what counts.
        File.Delete(_dir.Combine("subnet.env"));
        Assert.Equal((0, "", ""), Run(Env("DEL", "pod-2"), $$"""{"cniVersion":"1.0.0","name":"cbr0","dataDir":"{{_dir.Combine("data")}}"}"""));
        Assert.Equal(("bridge", "DEL", saved), _delegate.Calls[^1]);
        Assert.False(File.Exists(_dir.Combine("data", "pod-2")));

        Assert.Equal(0, Run(Env("DEL", "pod-2"), Netconf()).Code);
        Assert.Equal(2, _delegate.Calls.Count);
    }

    [Fact]
    public void Del_DelegateFails_ConfKeptForRetry()
    {
        Assert.Equal(0, Run(Env("ADD", "pod-3"), Netconf()).Code);
        _delegate.Failure = new CniException(11, "busy");
        (int code, string stdout, _) = Run(Env("DEL", "pod-3"), Netconf());
        Assert.Equal(1, code);
        Assert.Equal(11u, Error(stdout).GetProperty("code").GetUInt32());
        Assert.True(File.Exists(_dir.Combine("data", "pod-3")));
    }

    [Fact]
    public void Del_CorruptSavedConf_SucceedsAsFlannel()
    {
        Directory.CreateDirectory(_dir.Combine("data"));
        File.WriteAllText(_dir.Combine("data", "pod-4"), "{broken");
        (int code, _, string stderr) = Run(Env("DEL", "pod-4"), Netconf());
        Assert.Equal(0, code);
        Assert.Contains("failed to parse netconf", stderr, StringComparison.Ordinal);
        Assert.Empty(_delegate.Calls);
    }

    [Fact]
    public void Check_AfterAdd_SucceedsWithoutDelegating()
    {
        Assert.Equal(0, Run(Env("ADD", "pod-5"), Netconf()).Code);
        (int code, string stdout, _) = Run(Env("CHECK", "pod-5"), Netconf(extra: ""","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.5.52.2/24"}]}"""));
        Assert.Equal((0, ""), (code, stdout));
        Assert.Single(_delegate.Calls);
    }

    [Fact]
    public void Check_UnknownContainer_Code3()
    {
        (int code, string stdout, _) = Run(Env("CHECK", "nobody"), Netconf());
        Assert.Equal(1, code);
        Assert.Equal(3u, Error(stdout).GetProperty("code").GetUInt32());
    }

    [Fact]
    public void FindInPath_Missing_LibcniMessage()
    {
        var e = Assert.Throws<InvalidOperationException>(() => DelegateExec.FindInPath("bridge", "/nonexistent/a:/nonexistent/b"));
        Assert.Equal("failed to find plugin \"bridge\" in path [/nonexistent/a /nonexistent/b]", e.Message);
    }

    private sealed class RecordingDelegate : IDelegateExec
    {
        public List<(string Type, string Command, string Config)> Calls { get; } = [];

        public string Output { get; set; } = "{\"cniVersion\":\"1.0.0\"}";

        public CniException? Failure { get; set; }

        public string Run(string type, string command, byte[] config, CniArgs args)
        {
            Calls.Add((type, command, Encoding.UTF8.GetString(config)));
            return Failure is null ? Output : throw Failure;
        }
    }
}
