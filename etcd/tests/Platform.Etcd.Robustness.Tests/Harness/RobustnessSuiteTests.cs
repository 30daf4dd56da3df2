using System.Reflection;
using Platform.Etcd.Robustness.Harness;
using Platform.Testing;
using Xunit.Abstractions;

namespace Platform.Etcd.Robustness.Tests.Harness;

/// <summary>
/// The CI seed set: one seed per fault kind (the seed picks <c>FaultKind[seed % 7]</c>: seed 1 kills
/// the leader, 2 isolates it, 3 isolates a follower, 4 delays peer traffic, 5 resets peer
/// connections, 6 replaces a member, 7 kills a random member), each a 3-member cluster under the
/// workload, checked for linearizability, watch consistency, lost writes and HashKV agreement.
/// The same seeds run against the real etcd 3.4 (proving the harness and checker accept a correct
/// implementation under these faults) and against ours.
/// </summary>
public sealed class RobustnessSuiteTests(ITestOutputHelper output)
{
    /// <summary>Where the build put our etcd (etcd/src/etcd's output, referenced by this project).</summary>
    public static string OurEtcd { get; } = typeof(RobustnessSuiteTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "OurEtcdExecutable").Value!;

    private static readonly int[] s_ciSeeds = [1, 2, 3, 4, 5, 6, 7];

    public static TheoryData<int> CiSeeds => new(s_ciSeeds);

    /// <summary>Our etcd built with <c>-c Failpoints</c> (the test-only fault hooks), referenced by this project.</summary>
    public static string OurFailpointsEtcd { get; } = typeof(RobustnessSuiteTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "OurFailpointsEtcdExecutable").Value!;

    /// <summary>The failpoint CI set: each failpoint fault once, with a fixed seed (victim and firing point come from it).</summary>
    public static TheoryData<FaultKind, int> FailpointCiRuns => new()
    {
        { FaultKind.WalFsyncError, 1 },
        { FaultKind.WalTornWrite, 2 },
        { FaultKind.CrashAfterWalSave, 3 },
        { FaultKind.CrashDuringSnapshotSave, 4 },
    };

    [Fact]
    public void CiSeeds_CoverEveryFaultKind()
    {
        IReadOnlyList<FaultKind> kinds = FaultKinds.Default;

        Assert.Equal(kinds.Order(), s_ciSeeds.Select(seed => kinds[seed % kinds.Count]).Order());
        Assert.Equal(
            Enum.GetValues<FaultKind>().Except(kinds).Order(),
            FailpointCiRuns.Select(row => (FaultKind)row[0]).Order());
    }

    [Theory]
    [MemberData(nameof(CiSeeds))]
    public async Task RealEtcd_Seed_PassesEveryCheck(int seed)
    {
        Assert.True(File.Exists(EtcdMember.RealEtcdPath), $"{EtcdMember.RealEtcdPath} is missing (Debian package etcd-server)");

        RobustnessReport report = await RunAsync(EtcdMember.RealEtcdPath, seed);

        Assert.True(report.Passed, report.Details());
    }

    [Theory]
    [MemberData(nameof(CiSeeds))]
    public async Task OurEtcd_Seed_PassesEveryCheck(int seed)
    {
        Assert.True(File.Exists(OurEtcd), $"{OurEtcd} is missing (built with this project)");

        RobustnessReport report = await RunAsync(OurEtcd, seed);

        Assert.True(report.Passed, report.Details());
    }

    [Theory]
    [MemberData(nameof(FailpointCiRuns))]
    public async Task OurFailpointsEtcd_Fault_PassesEveryCheck(FaultKind fault, int seed)
    {
        Assert.True(File.Exists(OurFailpointsEtcd), $"{OurFailpointsEtcd} is missing (built with this project, -c Failpoints)");

        RobustnessReport report = await RunAsync(OurFailpointsEtcd, seed, fault);

        Assert.True(report.Passed, report.Details());
    }

    private async Task<RobustnessReport> RunAsync(string executable, int seed, FaultKind? fault = null)
    {
        RobustnessReport report = await RobustnessRun.RunAsync(new RobustnessOptions { Executable = executable, Seed = seed, Fault = fault });
        output.WriteLine(report.Summary);
        output.WriteLine(report.Transcript);
        return report;
    }
}
