using Platform.Raft.Tracker;

namespace Platform.Raft;

/// <summary>A node's status without the per-peer progress; cheap to take.</summary>
/// <param name="Id">This node's id.</param>
/// <param name="HardState">Term, vote and commit index (possibly not yet persisted).</param>
/// <param name="SoftState">Known leader and role.</param>
/// <param name="Applied">The highest index the application reported applied.</param>
/// <param name="LeadTransferee">The target of a leader transfer in progress, or None.</param>
public sealed record BasicStatus(ulong Id, HardState HardState, SoftState SoftState, ulong Applied, ulong LeadTransferee);

/// <summary>What the leader knows about one peer's replication.</summary>
/// <param name="Match">The highest index known to be replicated on the peer.</param>
/// <param name="Next">The next index to send.</param>
/// <param name="State">Probe, Replicate or Snapshot.</param>
/// <param name="IsLearner">Whether the peer is a learner.</param>
/// <param name="RecentActive">Whether the peer was heard from since the last CheckQuorum.</param>
/// <param name="Paused">Whether sending appends to the peer is paused (flow control).</param>
/// <param name="InflightCount">Append messages in flight to the peer.</param>
/// <param name="PendingSnapshot">The index of the snapshot being sent, in Snapshot state.</param>
public sealed record ProgressStatus(
    ulong Match,
    ulong Next,
    ProgressState State,
    bool IsLearner,
    bool RecentActive,
    bool Paused,
    int InflightCount,
    ulong PendingSnapshot);

/// <summary>A node's full status: <see cref="BasicStatus"/>, the configuration and, on a leader, every peer's progress.</summary>
/// <param name="Basic">Id, hard and soft state, applied index, transfer target.</param>
/// <param name="Config">The active configuration.</param>
/// <param name="ConfigDescription">The active configuration as text, e.g. <c>voters=(1 2 3)&amp;&amp;(1 2) learners=(4)</c>.</param>
/// <param name="Progress">Per-peer progress by id; empty unless this node is the leader.</param>
public sealed record RaftStatus(BasicStatus Basic, ConfState Config, string ConfigDescription, IReadOnlyDictionary<ulong, ProgressStatus> Progress)
{
    public ulong Id => Basic.Id;

    public HardState HardState => Basic.HardState;

    public SoftState SoftState => Basic.SoftState;

    public ulong Applied => Basic.Applied;

    public ulong LeadTransferee => Basic.LeadTransferee;
}
