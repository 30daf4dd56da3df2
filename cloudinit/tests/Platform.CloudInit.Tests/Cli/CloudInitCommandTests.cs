using System.IO.Compression;
using System.Text;
using Platform.CloudInit.Cli;
using Platform.CloudInit.Tests.Datasources;
using Platform.Testing;

namespace Platform.CloudInit.Tests.Cli;

/// <summary>The executable's main, run in-process with its own environment and captured output.</summary>
public sealed class CloudInitCommandTests
{
    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args, Dictionary<string, string>? environment = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await CloudInitCommand.RunAsync(args, environment ?? [], stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Validate_CleanConfig_ExitsZeroWithEmptyReport()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Validate_CleanConfig_ExitsZeroWithEmptyReport));
        File.WriteAllText(directory.Combine("ud"), "#cloud-config\nhostname: a\n");

        (int code, string stdout, _) = await RunAsync(["--validate", "--from-file", directory.Combine("ud")]);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Validate_InfoOnly_ExitsOneAsCoreosCloudinit()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Validate_InfoOnly_ExitsOneAsCoreosCloudinit));
        File.WriteAllText(directory.Combine("ud"), "#cloud-config\ncoreos:\n  write_files: []\n");

        (int code, string stdout, _) = await RunAsync(["--validate", "--from-file", directory.Combine("ud")]);

        Assert.Equal(1, code);
        Assert.Equal("line 3: warning: unrecognized key \"write_files\"\nline 3: info: write_files doesn't belong under coreos\n", stdout);
    }

    [Fact]
    public async Task Validate_JsonFormat_KindLineMessageObjects()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Validate_JsonFormat_KindLineMessageObjects));
        File.WriteAllText(directory.Combine("ud"), "#cloud-config\nbogus: 1\n");

        (int code, string stdout, _) = await RunAsync(["--validate", "--format=json", "--from-file", directory.Combine("ud")]);

        Assert.Equal(1, code);
        Assert.Equal("[{\"kind\":\"warning\",\"line\":2,\"message\":\"unrecognized key \\\"bogus\\\"\"}]\n", stdout);
    }

    [Fact]
    public async Task Validate_GzipUserData_DecompressedFirst()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Validate_GzipUserData_DecompressedFirst));
        using (FileStream file = File.Create(directory.Combine("ud.gz")))
        using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes("#cloud-config\nhostname: [a]\n"));
        }

        (int code, string stdout, _) = await RunAsync(["--validate", "--from-file", directory.Combine("ud.gz")]);

        Assert.Equal(1, code);
        Assert.Equal("line 2: warning: incorrect type for \"hostname\" (want string)\n", stdout);
    }

    [Fact]
    public async Task Run_IgnitionConfig_DeclinedWithMessageAndExitZero()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Run_IgnitionConfig_DeclinedWithMessageAndExitZero));
        File.WriteAllText(directory.Combine("ud"), "{\"ignition\":{\"version\":\"2.2.0\"}}");

        (int code, string stdout, _) = await RunAsync(["--from-file", directory.Combine("ud"), "--root", directory.Combine("root")]);

        Assert.Equal(0, code);
        Assert.Equal("Detected an Ignition config. Exiting...", stdout);
        Assert.False(Directory.Exists(directory.Combine("root")));
    }

    [Fact]
    public async Task Run_RootTree_AppliesEtcd2AndFlannelWithMetadataAddresses()
    {
        using var server = new LoopbackServer()
            .Route("2009-04-04/", "")
            .Route("2009-04-04/user-data", "#cloud-config\ncoreos:\n  etcd2:\n    name: node1\n    advertise-client-urls: http://$private_ipv4:2379\n  flannel:\n    public_ip: $public_ipv4\n")
            .Route("2009-04-04/meta-data/local-ipv4", "10.0.0.5")
            .Route("2009-04-04/meta-data/public-ipv4", "203.0.113.7");
        using TestDirectory root = TestDirectory.Create(nameof(Run_RootTree_AppliesEtcd2AndFlannelWithMetadataAddresses));

        (int code, string stdout, string stderr) = await RunAsync(
            ["--oem=ec2-compat", "--root", root.Path],
            new() { [CloudInitCommand.MetadataUrlOverrideVariable] = server.BaseUrl, [CloudInitCommand.DatasourceTimeoutVariable] = "20s" });

        Assert.True(code == 0, stderr);
        Assert.Equal(
            "[Service]\nEnvironment=\"ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.5:2379\"\nEnvironment=\"ETCD_NAME=node1\"\n",
            File.ReadAllText(root.Combine("run/systemd/system/etcd2.service.d/20-cloudinit.conf")));
        Assert.Equal("FLANNELD_PUBLIC_IP=203.0.113.7", File.ReadAllText(root.Combine("run/flannel/options.env")));
        Assert.Equal("COREOS_PRIVATE_IPV4=10.0.0.5\nCOREOS_PUBLIC_IPV4=203.0.113.7\n", File.ReadAllText(root.Combine("etc/environment")));
        Assert.Contains("recorded: systemctl daemon-reload", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DryRun_PrintsActionsAndWritesNothing()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Run_DryRun_PrintsActionsAndWritesNothing));
        File.WriteAllText(directory.Combine("ud"), "#cloud-config\nhostname: dry\nwrite_files:\n  - path: /etc/x\n    content: y\n");
        Directory.CreateDirectory(directory.Combine("root"));

        (int code, string stdout, _) = await RunAsync(["--from-file", directory.Combine("ud"), "--root", directory.Combine("root"), "--dry-run"]);

        Assert.Equal(0, code);
        Assert.Equal("would hostname dry\nwould write /etc/x (0644)\n", stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory.Combine("root")));
    }

    [Fact]
    public async Task Run_UnparsableCloudConfig_ContinuesThenExitsOne()
    {
        using TestDirectory directory = TestDirectory.Create(nameof(Run_UnparsableCloudConfig_ContinuesThenExitsOne));
        File.WriteAllText(directory.Combine("ud"), "#cloud-config\nhostname: [a\n");

        (int code, string stdout, _) = await RunAsync(["--from-file", directory.Combine("ud"), "--root", directory.Combine("root")]);
        (int ignored, _, _) = await RunAsync(["--from-file", directory.Combine("ud"), "--root", directory.Combine("root"), "--ignore-failure"]);

        Assert.Equal(1, code);
        Assert.StartsWith("Failed to parse user-data: yaml: line 3:", stdout, StringComparison.Ordinal);
        Assert.Equal(0, ignored);
    }

    [Theory]
    [InlineData(new[] { "--oem=nope", "--from-file=x" }, 2)]
    [InlineData(new[] { "--convert-netconf=yaml", "--from-file=x" }, 2)]
    [InlineData(new[] { "--validate" }, 2)]
    [InlineData(new[] { "--bogus" }, 2)]
    [InlineData(new[] { "--version" }, 0)]
    public async Task Run_Usage_ExitCodes(string[] args, int expected)
    {
        (int code, _, _) = await RunAsync(args);

        Assert.Equal(expected, code);
    }

    [Fact]
    public async Task Run_NoSourceAvailable_ExitsOne()
    {
        (int code, _, _) = await RunAsync(
            ["--from-file", "/nonexistent/user-data"],
            new() { [CloudInitCommand.DatasourceTimeoutVariable] = "300ms" });

        Assert.Equal(1, code);
    }
}
