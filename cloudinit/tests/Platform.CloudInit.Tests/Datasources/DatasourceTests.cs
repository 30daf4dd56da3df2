using System.Text;
using Platform.CloudInit.Datasources;
using Platform.Testing;

namespace Platform.CloudInit.Tests.Datasources;

/// <summary>Every datasource against local fixtures: HTTP servers on 127.0.0.1 or directories.</summary>
public sealed class DatasourceTests : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose() => _http.Dispose();

    // Availability as the executable decides it: polled with backoff, so one refused connection on
    // a loaded machine does not fail the test, while a source that never answers still does.
    private static Task<IDatasource?> AvailableAsync(IDatasource source) =>
        new DatasourceSelector(TimeProvider.System) { Timeout = TimeSpan.FromSeconds(10) }.SelectAsync([source], CancellationToken.None);

    private DatasourceOptions Options(string? procCmdline = null) => new()
    {
        HttpClient = _http,
        HttpAttempts = 3,
        HttpInitialBackoff = TimeSpan.FromMilliseconds(10),
        ProcCmdlinePath = procCmdline ?? "/nonexistent/cmdline",
    };

    [Fact]
    public async Task Ec2_MetadataService_UserDataKeysHostnameAndAddresses()
    {
        using var server = new LoopbackServer()
            .Route("2009-04-04/", "")
            .Route("2009-04-04/user-data", "#cloud-config\nhostname: x\n")
            .Route("2009-04-04/meta-data/public-keys", "0=alice\n1=bob")
            .Route("2009-04-04/meta-data/public-keys/0/openssh-key", "ssh-rsa AAAA alice")
            .Route("2009-04-04/meta-data/public-keys/1/openssh-key", "ssh-rsa BBBB bob")
            .Route("2009-04-04/meta-data/hostname", "ip-10-0-0-5.ec2.internal")
            .Route("2009-04-04/meta-data/local-ipv4", "10.0.0.5")
            .Route("2009-04-04/meta-data/public-ipv4", "203.0.113.7");
        IDatasource source = DatasourceFactory.Create("from-ec2-metadata", server.BaseUrl, Options());

        Assert.Same(source, await AvailableAsync(source));
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Equal("#cloud-config\nhostname: x\n", Encoding.UTF8.GetString(content.UserData));
        Assert.Equal("ip-10-0-0-5", content.Metadata.Hostname);
        Assert.Equal("10.0.0.5", content.Metadata.PrivateIPv4?.ToString());
        Assert.Equal("203.0.113.7", content.Metadata.PublicIPv4?.ToString());
        Assert.Equal(["alice=ssh-rsa AAAA alice", "bob=ssh-rsa BBBB bob"], content.Metadata.SshPublicKeys.Select(k => $"{k.Key}={k.Value}"));
    }

    [Fact]
    public async Task Ec2_NothingButApi_EmptyUserDataAndMetadata()
    {
        using var server = new LoopbackServer().Route("2009-04-04/", "");
        IDatasource source = DatasourceFactory.Create("from-ec2-metadata", server.BaseUrl, Options());

        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Empty(content.UserData);
        Assert.Equal(string.Empty, content.Metadata.Hostname);
        Assert.Null(content.Metadata.PrivateIPv4);
    }

    [Fact]
    public async Task Ec2_ServerDown_NotAvailable()
    {
        int port = FreePorts.Next();
        IDatasource source = DatasourceFactory.Create("from-ec2-metadata", $"http://127.0.0.1:{port}/", Options());

        Assert.False(await source.IsAvailableAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DigitalOcean_JsonMetadata_InterfacesAndKeys()
    {
        const string json = """
            {"hostname":"droplet1","public_keys":["ssh-rsa AAAA","ssh-rsa BBBB"],
             "interfaces":{"public":[{"ipv4":{"ip_address":"203.0.113.9"},"ipv6":{"ip_address":"2001:db8::9"}}],
                           "private":[{"ipv4":{"ip_address":"10.128.0.9"}}]}}
            """;
        using var server = new LoopbackServer()
            .Route("metadata/v1", "")
            .Route("metadata/v1/user-data", "#!/bin/sh\n")
            .Route("metadata/v1.json", json);
        IDatasource source = DatasourceFactory.Create("from-digitalocean-metadata", server.BaseUrl, Options());

        Assert.Same(source, await AvailableAsync(source));
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Equal("#!/bin/sh\n", Encoding.UTF8.GetString(content.UserData));
        Assert.Equal("droplet1", content.Metadata.Hostname);
        Assert.Equal("203.0.113.9", content.Metadata.PublicIPv4?.ToString());
        Assert.Equal("2001:db8::9", content.Metadata.PublicIPv6?.ToString());
        Assert.Equal("10.128.0.9", content.Metadata.PrivateIPv4?.ToString());
        Assert.Equal(["0=ssh-rsa AAAA", "1=ssh-rsa BBBB"], content.Metadata.SshPublicKeys.Select(k => $"{k.Key}={k.Value}"));
    }

    [Fact]
    public async Task Gce_MetadataFlavorHeader_SentOnEveryRequest()
    {
        using var server = new LoopbackServer(("Metadata-Flavor", "Google"))
            .Route("computeMetadata/v1/", "")
            .Route("computeMetadata/v1/instance/attributes/user-data", "#cloud-config\n")
            .Route("computeMetadata/v1/instance/hostname", "vm1.c.project.internal")
            .Route("computeMetadata/v1/instance/network-interfaces/0/ip", "10.240.0.2")
            .Route("computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip", "198.51.100.2")
            .Route("computeMetadata/v1/instance/attributes/ssh-keys", "core:ssh-ed25519 AAAA core\n");
        IDatasource source = DatasourceFactory.Create("from-gce-metadata", server.BaseUrl, Options());

        Assert.Same(source, await AvailableAsync(source));
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Equal("#cloud-config\n", Encoding.UTF8.GetString(content.UserData));
        Assert.Equal("vm1", content.Metadata.Hostname);
        Assert.Equal("10.240.0.2", content.Metadata.PrivateIPv4?.ToString());
        Assert.Equal("198.51.100.2", content.Metadata.PublicIPv4?.ToString());
        Assert.Equal("core=ssh-ed25519 AAAA core", Assert.Single(content.Metadata.SshPublicKeys) is var k ? $"{k.Key}={k.Value}" : null);
    }

    [Fact]
    public async Task Url_ServerErrorThenSuccess_RetriedUntilServed()
    {
        using var server = new LoopbackServer().Route("ud", "boom", 500);
        IDatasource source = DatasourceFactory.Create("from-url", server.BaseUrl + "ud", Options());

        await Assert.ThrowsAsync<DatasourceException>(() => source.FetchAsync(CancellationToken.None));
        Assert.Equal(3, server.Requests.Count(p => p == "/ud"));

        server.Route("ud", "#cloud-config\n");
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);
        Assert.Equal("#cloud-config\n", Encoding.UTF8.GetString(content.UserData));
    }

    [Fact]
    public async Task Url_NotFound_EmptyUserData()
    {
        using var server = new LoopbackServer();
        IDatasource source = DatasourceFactory.Create("from-url", server.BaseUrl + "missing", Options());

        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Empty(content.UserData);
    }

    [Fact]
    public async Task ProcCmdline_CloudConfigUrl_FetchesIt()
    {
        using var server = new LoopbackServer().Route("cc", "#cloud-config\nhostname: pxe\n");
        using TestDirectory directory = TestDirectory.Create(nameof(ProcCmdline_CloudConfigUrl_FetchesIt));
        string cmdline = directory.Combine("cmdline");
        File.WriteAllText(cmdline, $"BOOT_IMAGE=/vmlinuz console=ttyS0 cloud_config_url={server.BaseUrl}cc quiet\n");
        IDatasource source = DatasourceFactory.Create("from-proc-cmdline", "true", Options(cmdline));

        Assert.True(await source.IsAvailableAsync(CancellationToken.None));
        Assert.False(source.AvailabilityChanges);
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Equal("#cloud-config\nhostname: pxe\n", Encoding.UTF8.GetString(content.UserData));
    }

    [Theory]
    [InlineData("root=/dev/sda cloud-config-url=http://a/b", "http://a/b")]
    [InlineData("cloud-config-url=http://a/1 cloud-config-url=http://a/2", "http://a/2")]
    [InlineData("cloud-config-url cloud-config-url=", "")]
    [InlineData("console=tty0", null)]
    public void FindCloudConfigUrl_Cmdline_LastValueWins(string cmdline, string? expected)
    {
        Assert.Equal(expected, Platform.CloudInit.Datasources.ProcCmdline.ProcCmdlineDatasource.FindCloudConfigUrl(cmdline));
    }

    [Fact]
    public async Task ConfigDrive_OpenStackTree_UserDataAndMetaData()
    {
        using TestDirectory drive = TestDirectory.Create(nameof(ConfigDrive_OpenStackTree_UserDataAndMetaData));
        Directory.CreateDirectory(drive.Combine("openstack", "latest"));
        Directory.CreateDirectory(drive.Combine("openstack", "content"));
        File.WriteAllText(drive.Combine("openstack", "latest", "user_data"), "#cloud-config\n");
        File.WriteAllText(drive.Combine("openstack", "latest", "meta_data.json"), """{"hostname":"os1","public_keys":{"mykey":"ssh-rsa AAAA"},"network_config":{"content_path":"/content/0000"}}""");
        File.WriteAllText(drive.Combine("openstack", "content", "0000"), "auto eth0\n");
        IDatasource source = DatasourceFactory.Create("from-configdrive", drive.Path, Options());

        Assert.True(await source.IsAvailableAsync(CancellationToken.None));
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);

        Assert.Equal("#cloud-config\n", Encoding.UTF8.GetString(content.UserData));
        Assert.Equal("os1", content.Metadata.Hostname);
        Assert.Equal("mykey=ssh-rsa AAAA", Assert.Single(content.Metadata.SshPublicKeys) is var k ? $"{k.Key}={k.Value}" : null);
        Assert.Equal("auto eth0\n", Encoding.UTF8.GetString(content.Metadata.NetworkConfig!));
    }

    [Fact]
    public async Task ConfigDrive_NoUserData_EmptyWithoutError()
    {
        using TestDirectory drive = TestDirectory.Create(nameof(ConfigDrive_NoUserData_EmptyWithoutError));

        DatasourceContent content = await DatasourceFactory.Create("from-configdrive", drive.Path, Options()).FetchAsync(CancellationToken.None);

        Assert.Empty(content.UserData);
        Assert.Same(Metadata.Empty, content.Metadata);
    }

    [Fact]
    public async Task Waagent_ProvisionedDirectory_CustomDataAndSharedConfigAddresses()
    {
        using TestDirectory agent = TestDirectory.Create(nameof(Waagent_ProvisionedDirectory_CustomDataAndSharedConfigAddresses));
        IDatasource source = DatasourceFactory.Create("from-waagent", agent.Path, Options());
        Assert.False(await source.IsAvailableAsync(CancellationToken.None));

        File.WriteAllText(agent.Combine("provisioned"), string.Empty);
        File.WriteAllText(agent.Combine("CustomData"), "#cloud-config\n");
        File.WriteAllText(agent.Combine("SharedConfig.xml"), """
            <SharedConfig version="1.0.0.0"><Incarnation number="1" instance="vm_1"/>
            <Instances><Instance id="vm_0" address="10.0.0.3"/><Instance id="vm_1" address="10.0.0.4">
            <InputEndpoints><Endpoint name="ssh" loadBalancedPublicAddress="40.1.2.3:22"/></InputEndpoints></Instance></Instances></SharedConfig>
            """);

        Assert.True(await source.IsAvailableAsync(CancellationToken.None));
        DatasourceContent content = await source.FetchAsync(CancellationToken.None);
        Assert.Equal("10.0.0.4", content.Metadata.PrivateIPv4?.ToString());
        Assert.Equal("40.1.2.3", content.Metadata.PublicIPv4?.ToString());
    }

    [Fact]
    public void Create_UnknownNameOrBadUrl_Throws()
    {
        Assert.Throws<ArgumentException>(() => DatasourceFactory.Create("from-floppy", "x", Options()));
        Assert.Throws<ArgumentException>(() => DatasourceFactory.Create("from-ec2-metadata", "not a url", Options()));
    }
}
