namespace Platform.Rkt.Networking.Tests;

public sealed class NetFlagTests
{
    [Fact]
    public void Parse_NamesAndArgs_KeepsOrderAndArguments()
    {
        IReadOnlyList<NetworkSelection> nets = NetFlag.Parse("default,foo:IP=1.2.3.4;X=y");

        Assert.Equal(["default", "foo"], nets.Select(n => n.Name));
        Assert.Empty(nets[0].Args);
        Assert.Equal("1.2.3.4", nets[1].Args["IP"]);
        Assert.Equal("y", nets[1].Args["X"]);
        Assert.Equal("IP=1.2.3.4;X=y", NetFlag.FormatArgs(nets[1]));
    }

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    public void Parse_HostOrNoneAlone_Accepted(string value)
    {
        Assert.Equal(value, Assert.Single(NetFlag.Parse(value)).Name);
    }

    [Theory]
    [InlineData("", "empty network name")]
    [InlineData("default,,foo", "empty network name")]
    [InlineData("host,default", "--net=host cannot be combined")]
    [InlineData("default,none", "--net=none cannot be combined")]
    [InlineData("foo,foo", "given more than once")]
    [InlineData("foo:IP", "is not KEY=VALUE")]
    [InlineData("foo:IP=1;IP=2", "\"IP\" of network \"foo\" given more than once")]
    [InlineData("host:IP=1.2.3.4", "takes no arguments")]
    [InlineData("-bad", "invalid network name")]
    [InlineData("a/b", "invalid network name")]
    public void Parse_Malformed_ClearError(string value, string expected)
    {
        var e = Assert.Throws<FormatException>(() => NetFlag.Parse(value));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralFlags_JoinedAndEmptyMeansDefault()
    {
        Assert.Equal(["a", "b"], NetFlag.Parse(["a", "b"]).Select(n => n.Name));
        Assert.Equal("default", Assert.Single(NetFlag.Parse(Array.Empty<string>())).Name);
    }
}
