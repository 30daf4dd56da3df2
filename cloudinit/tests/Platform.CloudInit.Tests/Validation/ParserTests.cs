using Platform.CloudInit.Config;

namespace Platform.CloudInit.Tests.Validation;

public sealed class ParserTests
{
    [Fact]
    public void Parse_HyphenAndUnderscoreKeys_BothDecode()
    {
        CloudConfig config = CloudConfigParser.Parse("#cloud-config\nssh-authorized-keys: [a]\ncoreos:\n  etcd2:\n    advertise-client-urls: http://x:2379\n    heartbeat_interval: 100\n").Config;

        Assert.Equal(["a"], config.SshAuthorizedKeys);
        Assert.Equal(
            ["ETCD_ADVERTISE_CLIENT_URLS=http://x:2379", "ETCD_HEARTBEAT_INTERVAL=100"],
            config.CoreOS.Etcd2.Settings.Select(s => $"{s.Env}={s.Value}"));
    }

    [Fact]
    public void Parse_UnquotedOctalAndBoolWords_KeptAsWritten()
    {
        CloudConfig config = CloudConfigParser.Parse("#cloud-config\nwrite_files:\n  - path: /a\n    permissions: 0644\ncoreos:\n  update:\n    reboot-strategy: off\n").Config;

        Assert.Equal("0644", config.WriteFiles[0].Permissions);
        Assert.Equal("off", config.CoreOS.Update.RebootStrategy);
    }

    [Fact]
    public void Parse_TypeMismatch_ReportsGoStyleErrorAndKeepsTheRest()
    {
        CloudConfigParseResult result = CloudConfigParser.Parse("#cloud-config\nhostname: a\ncoreos:\n  units:\n    - name: x\n      enable: maybe\n");

        Assert.Equal("yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `maybe` into bool", result.Error);
        Assert.Equal("a", result.Config.Hostname);
    }

    [Fact]
    public void Parse_FlannelSection_SchemaOrderAndGoFormatting()
    {
        CloudConfig config = CloudConfigParser.Parse("#cloud-config\ncoreos:\n  flannel:\n    public_ip: 1.2.3.4\n    ip_masq: true\n    etcd_endpoints: http://a:2379\n").Config;

        Assert.Equal(
            ["FLANNELD_ETCD_ENDPOINTS=http://a:2379", "FLANNELD_IP_MASQ=true", "FLANNELD_PUBLIC_IP=1.2.3.4"],
            config.CoreOS.Flannel.Settings.Select(s => $"{s.Env}={s.Value}"));
    }

    [Theory]
    [InlineData("", "hello", "hello")]
    [InlineData("base64", "aGVsbG8=", "hello")]
    [InlineData("b64", "aGVs\nbG8=", "hello")]
    [InlineData("gzip+b64", "H4sIAOC3tVQAA8tIzcnJ5wIAIDA6NgYAAAA=", "hello\n")]
    [InlineData("gz+base64", "H4sIAOC3tVQAA8tIzcnJ5wIAIDA6NgYAAAA=", "hello\n")]
    public void TryDecode_Encodings_Decode(string encoding, string content, string expected)
    {
        Assert.True(ContentDecoder.TryDecode(System.Text.Encoding.UTF8.GetBytes(content), encoding, out byte[] decoded, out _));
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(decoded));
    }

    [Theory]
    [InlineData("base64", "aGVsbG8")]
    [InlineData("base64", "aGVs bG8=")]
    [InlineData("gz", "not gzip")]
    [InlineData("rot13", "uryyb")]
    public void TryDecode_BadContentOrEncoding_Fails(string encoding, string content)
    {
        Assert.False(ContentDecoder.TryDecode(System.Text.Encoding.UTF8.GetBytes(content), encoding, out _, out string? error));
        Assert.NotNull(error);
    }
}
