using Platform.Common.Flags;

namespace Platform.Common.Tests;

public class FlagSetTests
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];

    [Fact]
    public void Parse_LongAndShortForms_SetValuesFromCommandLine()
    {
        var flags = new FlagSet("etcd", "ETCD");
        Flag<string> name = flags.String("name", "default", "member name");
        Flag<int> count = flags.Int("snapshot-count", 100000, "entries per snapshot");
        Flag<bool> v2 = flags.Bool("enable-v2", false, "serve v2");
        Flag<TimeSpan> timeout = flags.Duration("dial-timeout", TimeSpan.FromSeconds(2), "dial timeout");

        FlagParseResult result = flags.Parse(["--name=infra0", "-snapshot-count", "5", "--enable-v2", "--dial-timeout", "1m30s", "rest", "--name=x"], s_noEnvironment);

        Assert.Equal("infra0", name.Value);
        Assert.Equal(FlagSource.CommandLine, name.Source);
        Assert.Equal(5, count.Value);
        Assert.True(v2.Value);
        Assert.Equal(TimeSpan.FromSeconds(90), timeout.Value);
        Assert.Equal(["rest", "--name=x"], result.Positional);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_EnvironmentFallback_UsesPrefixedUpperSnakeName()
    {
        var flags = new FlagSet("etcd", "ETCD");
        Flag<string> token = flags.String("initial-cluster-token", "etcd-cluster", "token");
        Flag<string> dataDir = flags.String("data-dir", string.Empty, "data directory");

        flags.Parse([], new Dictionary<string, string> { ["ETCD_INITIAL_CLUSTER_TOKEN"] = "tok-1" });

        Assert.Equal("ETCD_INITIAL_CLUSTER_TOKEN", token.EnvironmentVariable);
        Assert.Equal("tok-1", token.Value);
        Assert.Equal(FlagSource.Environment, token.Source);
        Assert.Equal(FlagSource.Default, dataDir.Source);
        Assert.False(dataDir.IsSet);
    }

    [Fact]
    public void Parse_FlagAndEnvironmentBothSet_CommandLineWinsWithWarning()
    {
        var flags = new FlagSet("flanneld", "FLANNELD");
        Flag<string> prefix = flags.String("etcd-prefix", "/coreos.com/network", "prefix");

        FlagParseResult result = flags.Parse(
            ["--etcd-prefix=/a"],
            new Dictionary<string, string> { ["FLANNELD_ETCD_PREFIX"] = "/b", ["FLANNELD_NOPE"] = "1", ["OTHER"] = "x" });

        Assert.Equal("/a", prefix.Value);
        Assert.Equal(2, result.Warnings.Count);
        Assert.Contains("FLANNELD_ETCD_PREFIX is shadowed", result.Warnings[0], StringComparison.Ordinal);
        Assert.Equal("unrecognized environment variable FLANNELD_NOPE", result.Warnings[1]);
    }

    [Fact]
    public void Parse_StringListRepeatedAndCommaSeparated_Accumulates()
    {
        var flags = new FlagSet("flanneld", "FLANNELD");
        Flag<IReadOnlyList<string>> iface = flags.StringList("iface", ["eth9"], "interfaces");

        flags.Parse(["--iface", "eth0", "--iface=eth1,10.0.0.1"], s_noEnvironment);

        Assert.Equal(["eth0", "eth1", "10.0.0.1"], iface.Value);
    }

    [Fact]
    public void Parse_BoolExplicitFalse_IsFalse()
    {
        var flags = new FlagSet("t", null);
        Flag<bool> b = flags.Bool("strict", true, "strict");

        flags.Parse(["--strict=false"], s_noEnvironment);

        Assert.False(b.Value);
    }

    [Theory]
    [InlineData(new[] { "--nope" }, "flag provided but not defined: -nope")]
    [InlineData(new[] { "--port" }, "flag needs an argument: -port")]
    [InlineData(new[] { "--port=abc" }, "invalid value \"abc\" for flag -port: parse error")]
    [InlineData(new[] { "--wait=soon" }, "invalid value \"soon\" for flag -wait: parse error")]
    [InlineData(new[] { "---port=1" }, "bad flag syntax: ---port=1")]
    public void Parse_BadCommandLine_ThrowsWithGoStyleMessage(string[] args, string message)
    {
        var flags = new FlagSet("t", "T");
        flags.Int("port", 1, "port");
        flags.Duration("wait", TimeSpan.Zero, "wait");

        FlagParseException ex = Assert.Throws<FlagParseException>(() => flags.Parse(args, s_noEnvironment));

        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Parse_BadEnvironmentValue_NamesTheVariable()
    {
        var flags = new FlagSet("t", "T");
        flags.Duration("wait", TimeSpan.Zero, "wait");

        FlagParseException ex = Assert.Throws<FlagParseException>(() => flags.Parse([], new Dictionary<string, string> { ["T_WAIT"] = "5 parsecs" }));

        Assert.StartsWith("invalid value \"5 parsecs\" for environment variable T_WAIT", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Help_IsReportedAndUsageListsEnvironment()
    {
        var flags = new FlagSet("etcd", "ETCD");
        flags.String("name", "default", "Human-readable name for this member.");

        FlagParseResult result = flags.Parse(["-h"], s_noEnvironment);

        Assert.True(result.HelpRequested);
        string usage = flags.Usage();
        Assert.Contains("--name <value>", usage, StringComparison.Ordinal);
        Assert.Contains("(default: default) [$ETCD_NAME]", usage, StringComparison.Ordinal);
    }

    [Fact]
    public void String_Redefined_Throws()
    {
        var flags = new FlagSet("t", null);
        flags.String("a", string.Empty, "a");

        Assert.Throws<InvalidOperationException>(() => flags.String("a", string.Empty, "a"));
    }
}
