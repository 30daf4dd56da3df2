using System.Diagnostics;
using System.Text.RegularExpressions;
using Platform.CloudInit.Schema;
using Platform.CloudInit.Validation;

namespace Platform.CloudInit.Tests.Validation;

public sealed partial class PlatformRulesTests
{
    [Fact]
    public void EtcdFlags_MatchInstalledEtcdHelp()
    {
        if (!File.Exists("/usr/bin/etcd"))
        {
            // Debian's etcd-server is in ./platform's TEST_PACKAGES; without it the embedded list stands.
            return;
        }

        var info = new ProcessStartInfo("/usr/bin/etcd", ["--help"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        string help = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        var flags = FlagLine().Matches(help).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(flags.Order(StringComparer.Ordinal), EtcdFlags.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Etcd2Schema_EveryKeyButTheDeprecatedCaFiles_IsAnEtcdFlag()
    {
        string[] missing = CloudConfigSchema.Etcd2.Children.Select(c => c.Name.Replace('_', '-')).Where(f => !EtcdFlags.Names.Contains(f)).ToArray();

        Assert.Equal(["ca-file", "peer-ca-file"], missing);
    }

    [Theory]
    [InlineData("http://10.0.0.1:2379", null)]
    [InlineData("https://[fd00::1]:2379", null)]
    [InlineData("unix://localhost:2379", null)]
    [InlineData("http://$private_ipv4:2380", null)]
    [InlineData("http://10.0.0.1", "URL address does not have the form \"host:port\"")]
    [InlineData("ftp://10.0.0.1:21", "URL scheme must be http, https, unix, or unixs")]
    [InlineData("http://10.0.0.1:2379/v2", "URL must not contain a path")]
    [InlineData("10.0.0.1:2379", "not a URL")]
    public void CheckEtcdUrl_Url_AcceptedAsEtcdDoes(string url, string? problem)
    {
        Assert.Equal(problem, PlatformRules.CheckEtcdUrl(url));
    }

    [GeneratedRegex(@"^\s+--([a-z0-9-]+)", RegexOptions.Multiline)]
    private static partial Regex FlagLine();
}
