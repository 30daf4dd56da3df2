using Platform.Kola.Registry;

namespace Platform.Kola.Tests;

public sealed class GlobTests
{
    [Theory]
    [InlineData("*", "etcd.discovery", true)]
    [InlineData("etcd.*", "etcd.discovery", true)]
    [InlineData("etcd.*", "flannel.vxlan", false)]
    [InlineData("flannel.*", "flannel.udp", true)]
    [InlineData("*.udp", "flannel.udp", true)]
    [InlineData("flannel.?dp", "flannel.udp", true)]
    [InlineData("flannel.?", "flannel.udp", false)]
    [InlineData("flannel.[uv]*", "flannel.vxlan", true)]
    [InlineData("flannel.[!uv]*", "flannel.vxlan", false)]
    [InlineData("flannel.[!uv]*", "flannel.hostgw", true)]
    [InlineData("[a-f]*", "etcd.discovery", true)]
    [InlineData("[g-z]*", "etcd.discovery", false)]
    [InlineData(@"etcd\*", "etcd*", true)]
    [InlineData(@"etcd\*", "etcd.x", false)]
    [InlineData("etcd.discovery", "etcd.discovery", true)]
    [InlineData("etcd.discovery", "etcd.discovery2", false)]
    [InlineData("*.*.*", "a.b", false)]
    [InlineData("", "", true)]
    public void IsMatch_FollowsShellGlobRules(string pattern, string name, bool expected) =>
        Assert.Equal(expected, Glob.Parse(pattern).IsMatch(name));

    [Theory]
    [InlineData("etcd.[ab", "unterminated [")]
    [InlineData(@"etcd\", "trailing backslash")]
    public void Parse_BadPattern_SaysWhy(string pattern, string why) =>
        Assert.Contains(why, Assert.Throws<FormatException>(() => Glob.Parse(pattern)).Message, StringComparison.Ordinal);
}
