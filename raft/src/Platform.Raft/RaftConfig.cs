namespace Platform.Raft;

/// <summary>How a leader serves <see cref="RawNode.ReadIndex"/> requests.</summary>
public enum ReadOnlyOption
{
    /// <summary>
    /// Linearizable by a round of heartbeats: the leader confirms with a quorum that it is still
    /// the leader before answering. The default and the suggested option.
    /// </summary>
    Safe,

    /// <summary>
    /// Answered from the leader lease without a round trip. Depends on bounded clock drift (a
    /// paused or slow clock can keep a deposed leader answering); requires
    /// <see cref="RaftConfig.CheckQuorum"/>.
    /// </summary>
    LeaseBased,
}

/// <summary>The parameters of a raft node (etcd's raft.Config). Validated by <see cref="RawNode"/>'s constructor.</summary>
public sealed class RaftConfig
{
    /// <summary>This node's id; not 0 (<see cref="RaftConstants.None"/>) nor a local thread id.</summary>
    public ulong Id { get; init; }

    /// <summary>
    /// Ticks a follower waits without hearing from a leader before campaigning; the actual
    /// timeout is randomized in [ElectionTicks, 2 * ElectionTicks). Must exceed
    /// <see cref="HeartbeatTicks"/>; 10 × HeartbeatTicks avoids needless leader changes.
    /// </summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Ticks between the leader's heartbeats.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>
    /// The stable log raft reads from. On restart raft recovers its HardState, configuration and
    /// log from it.
    /// </summary>
    public required IRaftStorage Storage { get; init; }

    /// <summary>
    /// The last index applied to the state machine, set only when restarting: committed entries
    /// up to it are not handed out again. Left 0, a restarted node re-delivers everything after
    /// the snapshot.
    /// </summary>
    public ulong Applied { get; init; }

    /// <summary>
    /// Storage writes go through messages instead of the Ready/Advance calls: each Ready's
    /// <see cref="Ready.Messages"/> carries a <see cref="MessageType.MsgStorageAppend"/> to
    /// <see cref="RaftConstants.LocalAppendThread"/> (entries, HardState and snapshot to persist)
    /// and a <see cref="MessageType.MsgStorageApply"/> to <see cref="RaftConstants.LocalApplyThread"/>
    /// (committed entries to apply). Messages to the same thread must be processed in order and
    /// never dropped; once a message's work is done (durably, for appends), its
    /// <see cref="Message.Responses"/> are delivered (stepped into their target node).
    /// <see cref="RawNode.Advance"/> must not be called in this mode.
    /// </summary>
    public bool AsyncStorageWrites { get; init; }

    /// <summary>
    /// Maximum encoded bytes of entries in one append message (etcd's MaxSizePerMsg). Smaller
    /// values make probing and lost messages cheaper; larger ones raise replication throughput.
    /// 0 sends at most one entry per message; <see cref="ulong.MaxValue"/> means unlimited.
    /// </summary>
    public ulong MaxMessageBytes { get; init; }

    /// <summary>
    /// Maximum encoded bytes of committed entries handed out for applying and not yet
    /// acknowledged (across Readys, and across MsgStorageApply messages in async mode).
    /// 0 means the same as <see cref="MaxMessageBytes"/>, as in etcd.
    /// </summary>
    public ulong MaxCommittedBytesPerReady { get; init; }

    /// <summary>
    /// Maximum payload bytes of the leader's uncommitted log tail; proposals beyond it fail with
    /// <see cref="ProposalDroppedException"/>. 0 means no limit. An empty proposal is never refused.
    /// </summary>
    public ulong MaxUncommittedEntriesBytes { get; init; }

    /// <summary>Maximum append messages in flight to one follower while replicating optimistically. Must be positive.</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>
    /// Maximum payload bytes in flight to one follower (a bandwidth-delay bound: with 100 ms round
    /// trips, 1 MB caps a follower at 10 MB/s). 0 means no limit; otherwise at least
    /// <see cref="MaxMessageBytes"/>.
    /// </summary>
    public ulong MaxInflightBytes { get; init; }

    /// <summary>
    /// The leader steps down when it has not heard from a quorum for an election timeout, and
    /// followers that heard from a leader within the timeout ignore vote requests (the lease).
    /// </summary>
    public bool CheckQuorum { get; init; }

    /// <summary>
    /// The Pre-Vote phase (Raft thesis §9.6): a node first asks whether it could win before
    /// bumping its term, so a rejoining partitioned node does not disrupt the cluster.
    /// </summary>
    public bool PreVote { get; init; }

    /// <summary>How ReadIndex requests are served. <see cref="ReadOnlyOption.LeaseBased"/> requires <see cref="CheckQuorum"/>.</summary>
    public ReadOnlyOption ReadOnlyOption { get; init; }

    /// <summary>
    /// Followers drop proposals instead of forwarding them to the leader (for instance when the
    /// leader computes part of the proposal's content, like a timestamp).
    /// </summary>
    public bool DisableProposalForwarding { get; init; }

    /// <summary>
    /// Skips the propose-time checks of configuration changes against the active configuration
    /// (one change pending at a time, joint-state transitions). Only for applications that
    /// serialise and verify changes themselves: an invalid change that gets applied throws.
    /// </summary>
    public bool DisableConfChangeValidation { get; init; }

    /// <summary>The leader steps down when it is removed from the configuration or demoted to learner.</summary>
    public bool StepDownOnRemoval { get; init; }

    /// <summary>Where raft logs state changes; null logs nothing.</summary>
    public IRaftLogger? Logger { get; init; }

    /// <summary>
    /// The source of the randomized election timeout, the only randomness raft uses. Pass a
    /// seeded instance for reproducible runs; null uses a new <see cref="System.Random"/>.
    /// </summary>
    public Random? Random { get; init; }

    /// <summary>Checks the configuration, with etcd's messages.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public void Validate()
    {
        if (Id == RaftConstants.None)
        {
            throw new ArgumentException("cannot use none as id");
        }

        if (MessageTypes.IsLocalTarget(Id))
        {
            throw new ArgumentException("cannot use local target as id");
        }

        if (HeartbeatTicks <= 0)
        {
            throw new ArgumentException("heartbeat tick must be greater than 0");
        }

        if (ElectionTicks <= HeartbeatTicks)
        {
            throw new ArgumentException("election tick must be greater than heartbeat tick");
        }

        if (Storage is null)
        {
            throw new ArgumentException("storage cannot be nil");
        }

        if (MaxInflightMessages <= 0)
        {
            throw new ArgumentException("max inflight messages must be greater than 0");
        }

        if (MaxInflightBytes != 0 && MaxInflightBytes < MaxMessageBytes)
        {
            throw new ArgumentException("max inflight bytes must be >= max message size");
        }

        if (ReadOnlyOption == ReadOnlyOption.LeaseBased && !CheckQuorum)
        {
            throw new ArgumentException("CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased");
        }
    }

    internal ulong EffectiveMaxUncommittedEntriesBytes => MaxUncommittedEntriesBytes == 0 ? EntrySizes.NoLimit : MaxUncommittedEntriesBytes;

    // etcd defaults the applying budget to MaxSizePerMsg: they used to be one parameter.
    internal ulong EffectiveMaxCommittedBytesPerReady => MaxCommittedBytesPerReady == 0 ? MaxMessageBytes : MaxCommittedBytesPerReady;

    internal ulong EffectiveMaxInflightBytes => MaxInflightBytes == 0 ? EntrySizes.NoLimit : MaxInflightBytes;
}
