using Platform.Raft.Simulation;

namespace Platform.Raft.Tests.Simulation;

/// <summary>
/// The deterministic cluster simulator over a fixed set of seeds (CI's share; the soak runs
/// thousands: see raft/README.md). Each seed varies cluster size, PreVote, CheckQuorum and async
/// storage writes, and injects drops, duplicates, delays, reordering, partitions, crash-restarts
/// losing unsynced work, snapshots with compaction, conf changes, leader transfers and reads.
/// </summary>
public class SimulationTests
{
    private const int Seeds = 120;
    private const int Steps = 2000;

    public static IEnumerable<object[]> SeedBatches() =>
        Enumerable.Range(0, 6).Select(batch => new object[] { (ulong)(batch * (Seeds / 6) + 1) });

    [Theory]
    [MemberData(nameof(SeedBatches))]
    public void Run_FixedSeeds_HoldSafetyAndConverge(ulong firstSeed)
    {
        var results = new List<SimulationResult>();
        for (ulong seed = firstSeed; seed < firstSeed + Seeds / 6; seed++)
        {
            // A failure throws with the seed, the replay command and the last events.
            results.Add(new Simulator(SimulationOptions.ForSeed(seed, Steps)).Run());
        }

        // The batch must have exercised what it claims to, or a quiet bug could pass unnoticed.
        Assert.True(results.Sum(r => (long)r.CommittedIndex) > 20 * results.Count, "too few entries committed");
        Assert.True(results.Sum(r => r.Crashes) > 0, "no crash-restarts happened");
        Assert.True(results.Sum(r => r.Snapshots) > 0, "no snapshots were taken");
        Assert.True(results.Sum(r => r.ConfChangesApplied) > 0, "no conf changes were applied");
        Assert.True(results.Sum(r => r.ReadsServed) > 0, "no reads were served");
        Assert.True(results.Sum(r => r.Leaders) > results.Count, "no leader changes happened");
    }

    /// <summary>
    /// Seeds that once failed, kept as permanent reproductions. 257: with async storage writes a
    /// snapshot arrived while committed entries (a leave-joint conf change) were being applied;
    /// raft restored it and the application's ApplyConfChange then failed ("can't leave a
    /// non-joint config"). Raft now ignores snapshots while entries are being applied.
    /// </summary>
    [Theory]
    [InlineData(257UL)]
    public void Run_SeedsThatOnceFailed_HoldSafetyAndConverge(ulong seed)
    {
        SimulationResult result = new Simulator(SimulationOptions.ForSeed(seed, Steps)).Run();

        Assert.True(result.ConfChangesApplied > 0);
    }

    [Fact]
    public void Run_SameSeed_ReplaysExactly()
    {
        string first = TraceOf(42);
        string second = TraceOf(42);

        Assert.True(first.Length > 10_000);
        Assert.Equal(first, second);
        Assert.NotEqual(first, TraceOf(43));
    }

    [Fact]
    public void Run_DiskThatLiesAboutFsync_IsCaught()
    {
        // Crashed nodes lose entries they had acknowledged. Either raft's own consistency checks
        // (etcd-io/raft#197's "tocommit out of range") or the simulator's invariants must notice.
        int caught = 0;
        for (ulong seed = 1; seed <= 10; seed++)
        {
            try
            {
                new Simulator(SimulationOptions.ForSeed(seed, Steps) with { UnsafeLoseAcknowledgedWrites = true }).Run();
            }
            catch (SimulationFailureException)
            {
                caught++;
            }
        }

        Assert.True(caught >= 8, $"only {caught} of 10 runs with a lying disk failed");
    }

    private static string TraceOf(ulong seed)
    {
        var trace = new StringWriter();
        new Simulator(SimulationOptions.ForSeed(seed, 500) with { Trace = trace }).Run();
        return trace.ToString();
    }
}
