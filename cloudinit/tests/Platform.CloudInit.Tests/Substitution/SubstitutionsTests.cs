using System.Net;
using Platform.CloudInit.Datasources;
using Platform.CloudInit.Substitution;

namespace Platform.CloudInit.Tests.Substitution;

public sealed class SubstitutionsTests
{
    private static readonly Metadata s_metadata = new()
    {
        PrivateIPv4 = IPAddress.Parse("10.0.0.5"),
        PublicIPv4 = IPAddress.Parse("203.0.113.7"),
        PrivateIPv6 = IPAddress.Parse("fd00::5"),
    };

    [Theory]
    [InlineData("http://$private_ipv4:2379", "http://10.0.0.5:2379")]
    [InlineData("$public_ipv4", "203.0.113.7")]
    [InlineData("[$private_ipv6]:80", "[fd00::5]:80")]
    [InlineData("a $private_ipv4 b $private_ipv4", "a 10.0.0.5 b 10.0.0.5")]
    [InlineData("\\$private_ipv4", "$private_ipv4")]
    [InlineData("x\\$public_ipv4:$public_ipv4", "x$public_ipv4:203.0.113.7")]
    [InlineData("$public_ipv6", "")]
    [InlineData("$private_ipv4x", "10.0.0.5x")]
    [InlineData("$other and $", "$other and $")]
    public void Apply_Tokens_ReplacedOrEscaped(string input, string expected)
    {
        Substitutions substitutions = Substitutions.From(s_metadata, _ => null);

        Assert.Equal(expected, substitutions.Apply(input));
    }

    [Fact]
    public void From_MetadataMissing_FallsBackToCoreosEnvironmentVariables()
    {
        var environment = new Dictionary<string, string> { ["COREOS_PUBLIC_IPV4"] = "198.51.100.1", ["COREOS_PRIVATE_IPV4"] = "192.168.1.1" };

        Substitutions substitutions = Substitutions.From(new Metadata { PrivateIPv4 = IPAddress.Parse("10.0.0.5") }, environment.GetValueOrDefault);

        Assert.Equal("198.51.100.1 10.0.0.5", substitutions.Apply("$public_ipv4 $private_ipv4"));
    }

    [Fact]
    public void EnvironmentVariables_KnownValues_SortedByName()
    {
        Substitutions substitutions = Substitutions.From(s_metadata, _ => null);

        Assert.Equal(
            ["COREOS_PRIVATE_IPV4=10.0.0.5", "COREOS_PRIVATE_IPV6=fd00::5", "COREOS_PUBLIC_IPV4=203.0.113.7"],
            substitutions.EnvironmentVariables().Select(p => $"{p.Key}={p.Value}"));
    }
}
