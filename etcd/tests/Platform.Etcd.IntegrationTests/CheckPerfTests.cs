using Platform.Etcd.IntegrationTests.Infrastructure;

namespace Platform.Etcd.IntegrationTests;

/// <summary>Timing tests run alone (after the parallel ones): two vCPUs shared with other tests would measure them instead.</summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection
{
}

/// <summary>etcd's own load check against our executable.</summary>
[Collection(nameof(TimingCollection))]
public sealed class CheckPerfTests
{
    // A Debug build's JIT and checks make the slowest request miss etcd's 0.5 s bound.
#if DEBUG
    [Fact(Skip = "timing test: run it on a Release build (./platform test does)")]
#else
    [EtcdctlFact]
#endif
    public async Task CheckPerf_LoadS_Passes()
    {
        await using EtcdProcess etcd = await EtcdProcess.StartOursAsync("checkperf");
        CommandResult result = await Command.RunAsync(
            Binaries.Etcdctl,
            ["--endpoints", etcd.ClientUrl.ToString().TrimEnd('/'), "check", "perf", "--load=s"],
            TimeSpan.FromMinutes(5),
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("PASS: Throughput", result.Stdout, StringComparison.Ordinal);
    }
}
