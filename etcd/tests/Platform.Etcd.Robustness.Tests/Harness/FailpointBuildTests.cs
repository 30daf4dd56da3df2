using System.Text;
using Platform.Etcd.Client;
using Platform.Testing;

namespace Platform.Etcd.Robustness.Tests.Harness;

/// <summary>
/// Failpoints exist only in the <c>Failpoints</c> build: the regular build (what <c>./platform build</c>
/// publishes into out/bin with <c>--no-build</c>) has neither the hook code nor a way to enable it.
/// Each test runs the same check on both builds, so it proves something in each direction.
/// </summary>
public sealed class FailpointBuildTests
{
    // A spec that fires on the very first WAL fsync: a member that honours it never serves.
    private static readonly Dictionary<string, string> s_fsyncFailsAtOnce = new() { ["PLATFORM_ETCD_FAILPOINTS"] = "wal-fsync=eio@1" };

    private static string RegularBuild => Path.GetDirectoryName(RobustnessSuiteTests.OurEtcd)!;

    private static string FailpointsBuild => Path.GetDirectoryName(RobustnessSuiteTests.OurFailpointsEtcd)!;

    [Theory]
    [InlineData("Platform.Etcd.Storage.dll")]
    [InlineData("Platform.Etcd.Server.dll")]
    public void RegularBuild_HasNoFailpointCode_FailpointsBuildHas(string assembly)
    {
        // The variable's name is a string literal of the failpoint code (UTF-16 in the #US heap).
        byte[] marker = Encoding.Unicode.GetBytes("PLATFORM_ETCD_FAILPOINTS");
        byte[] failpointMarker = Encoding.UTF8.GetBytes("Failpoint");

        byte[] regular = File.ReadAllBytes(Path.Combine(RegularBuild, assembly));
        byte[] failpoints = File.ReadAllBytes(Path.Combine(FailpointsBuild, assembly));

        Assert.Equal(-1, regular.AsSpan().IndexOf(marker));
        Assert.Equal(-1, regular.AsSpan().IndexOf(failpointMarker));
        Assert.True(failpoints.AsSpan().IndexOf(failpointMarker) >= 0, $"{assembly} of the Failpoints build has no failpoint code");
        if (assembly == "Platform.Etcd.Storage.dll")
        {
            Assert.True(failpoints.AsSpan().IndexOf(marker) >= 0, "the Failpoints build does not read PLATFORM_ETCD_FAILPOINTS");
        }
    }

    [Fact]
    public async Task RegularBuild_IgnoresFailpointEnvironment()
    {
        await using var member = new EtcdMember(RobustnessSuiteTests.OurEtcd, "regular-build-env") { Environment = s_fsyncFailsAtOnce };

        await member.StartAsync();
        await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions { Endpoints = [member.ClientUrl] });
        await client.Kv.PutAsync("k"u8.ToArray(), "v"u8.ToArray());

        Assert.DoesNotContain("failpoint wal-fsync", member.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailpointsBuild_WalFsyncEio_MemberStopsWithTheError()
    {
        await using var member = new EtcdMember(RobustnessSuiteTests.OurFailpointsEtcd, "failpoints-fire") { Environment = s_fsyncFailsAtOnce };

        InvalidOperationException exited = await Assert.ThrowsAsync<InvalidOperationException>(member.StartAsync);

        Assert.Contains("failpoint wal-fsync fired", exited.Message, StringComparison.Ordinal);
        Assert.Contains("fdatasync failed: Input/output error (failpoint wal-fsync)", exited.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailpointsBuild_BadSpec_StopsWithAClearError()
    {
        var environment = new Dictionary<string, string> { ["PLATFORM_ETCD_FAILPOINTS"] = "wal-fsync=explode@2" };
        await using var member = new EtcdMember(RobustnessSuiteTests.OurFailpointsEtcd, "failpoints-bad-spec") { Environment = environment };

        InvalidOperationException exited = await Assert.ThrowsAsync<InvalidOperationException>(member.StartAsync);

        Assert.Contains("failpoints: cannot parse 'wal-fsync=explode@2' from PLATFORM_ETCD_FAILPOINTS", exited.Message, StringComparison.Ordinal);
    }
}
