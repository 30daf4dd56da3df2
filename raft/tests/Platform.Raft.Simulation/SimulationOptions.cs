namespace Platform.Raft.Simulation;

/// <summary>
/// One simulated run. Everything random in the run derives from <see cref="Seed"/>, so a run with
/// the same options replays exactly. Probabilities are per step unless said otherwise.
/// </summary>
public sealed record SimulationOptions
{
    public ulong Seed { get; init; } = 1;

    /// <summary>Voters the cluster is bootstrapped with (3–7).</summary>
    public int InitialVoters { get; init; } = 3;

    /// <summary>Steps of faults and traffic, followed by a healing phase that must converge.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Ticks the healed cluster gets to elect a leader and apply everything.</summary>
    public int HealingTicks { get; init; } = 400;

    public bool PreVote { get; init; } = true;

    public bool CheckQuorum { get; init; } = true;

    public bool AsyncStorageWrites { get; init; }

    public double DropProbability { get; init; } = 0.05;

    public double DuplicateProbability { get; init; } = 0.02;

    /// <summary>Chance that a message is held back for a few steps rather than queued in order.</summary>
    public double DelayProbability { get; init; } = 0.1;

    public double PartitionProbability { get; init; } = 0.005;

    public double HealProbability { get; init; } = 0.02;

    public double CrashProbability { get; init; } = 0.004;

    public double RestartProbability { get; init; } = 0.05;

    public double SnapshotProbability { get; init; } = 0.01;

    public double ConfChangeProbability { get; init; } = 0.004;

    public double ProposeProbability { get; init; } = 0.3;

    public double ReadIndexProbability { get; init; } = 0.05;

    public double TransferLeaderProbability { get; init; } = 0.002;

    /// <summary>Largest number of node ids ever used, so conf changes stay within a small cluster.</summary>
    public int MaxNodes { get; init; } = 7;

    /// <summary>
    /// A deliberately broken environment, to prove the checker catches what it claims to: a crashed
    /// node loses writes it had already reported durable (a disk that lies about fsync).
    /// </summary>
    public bool UnsafeLoseAcknowledgedWrites { get; init; }

    /// <summary>Writes every event of the run to <see cref="Trace"/> when set.</summary>
    public TextWriter? Trace { get; init; }

    /// <summary>A varied configuration for <paramref name="seed"/>: cluster size and features derive from it.</summary>
    public static SimulationOptions ForSeed(ulong seed, int steps = 2000)
    {
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        return new SimulationOptions
        {
            Seed = seed,
            Steps = steps,
            InitialVoters = 3 + random.Next(3) * 2 - (random.Next(4) == 0 ? 1 : 0),
            PreVote = random.Next(3) != 0,
            CheckQuorum = random.Next(3) != 0,
            AsyncStorageWrites = random.Next(3) == 0,
        };
    }
}
