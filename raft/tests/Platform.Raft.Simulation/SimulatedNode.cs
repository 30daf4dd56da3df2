using Google.Protobuf;

namespace Platform.Raft.Simulation;

/// <summary>
/// One simulated member: a durable "disk" (a <see cref="MemoryStorage"/> that survives crashes) and
/// the volatile rest (the <see cref="RawNode"/>, the state machine, and, in async-storage-writes
/// mode, the local append/apply queues whose unsynced work a crash loses).
/// </summary>
internal sealed class SimulatedNode
{
    private readonly Queue<Message> _appendQueue = new();
    private readonly Queue<Message> _applyQueue = new();

    public SimulatedNode(ulong id)
    {
        Id = id;
    }

    public ulong Id { get; }

    /// <summary>What has been fsynced. Survives crashes.</summary>
    public MemoryStorage Disk { get; private set; } = new();

    public RawNode? Raft { get; private set; }

    public SimulatedStateMachine StateMachine { get; private set; } = new();

    public bool IsUp => Raft is not null;

    /// <summary>Set when the node applied its own removal, or was shut down by the operator for it.</summary>
    public bool Removed { get; set; }

    /// <summary>The highest commit index this incarnation reported; must never decrease.</summary>
    public ulong LastCommit { get; set; }

    /// <summary>The durable commit index; must never decrease, even across crashes.</summary>
    public ulong DurableCommit { get; set; }

    public int Incarnation { get; private set; }

    public IEnumerable<Message> PendingAppends => _appendQueue;

    public bool HasLocalWork => _appendQueue.Count > 0 || _applyQueue.Count > 0;

    public void Start(RaftConfig config)
    {
        Raft = new RawNode(config);
        Incarnation++;
        LastCommit = Disk.InitialState().HardState.Commit;
    }

    /// <summary>Loses everything volatile: the raft node, the state machine, unsynced local work.</summary>
    public void Crash()
    {
        Raft = null;
        _appendQueue.Clear();
        _applyQueue.Clear();
        StateMachine = new SimulatedStateMachine();
    }

    /// <summary>Rebuilds the state machine from the durable snapshot before a restart.</summary>
    public void RecoverStateMachine()
    {
        StateMachine = new SimulatedStateMachine();
        Snapshot snapshot = Disk.Snapshot();
        StateMachine.Restore(snapshot);
        if (snapshot.Metadata.Index == 0)
        {
            StateMachine.ConfState = Disk.InitialState().ConfState.Clone();
        }
    }

    /// <summary>
    /// A disk that lied about fsync: drops up to <paramref name="count"/> durable entries above the
    /// durable commit index (entries this node may already have acknowledged to a leader). The rest
    /// of the disk stays self-consistent, so raft cannot notice; only the cluster-wide checks can.
    /// </summary>
    public void LoseDurableTail(int count)
    {
        ulong last = Disk.LastIndex();
        ulong commit = Disk.InitialState().HardState.Commit;
        ulong keepTo = Math.Max(commit, last - Math.Min((ulong)count, last));
        if (keepTo >= last)
        {
            return;
        }

        var replacement = new MemoryStorage();
        Snapshot snapshot = Disk.Snapshot();
        if (snapshot.Metadata.Index > 0)
        {
            replacement.ApplySnapshot(snapshot);
        }

        ulong first = Disk.FirstIndex();
        if (keepTo >= first)
        {
            replacement.Append(Disk.Entries(first, keepTo + 1, ulong.MaxValue));
        }

        replacement.SetHardState(Disk.InitialState().HardState);
        Disk = replacement;
    }

    public void EnqueueAppend(Message m) => _appendQueue.Enqueue(m);

    public void EnqueueApply(Message m) => _applyQueue.Enqueue(m);

    public bool TryDequeueAppend(out Message m) => _appendQueue.TryDequeue(out m!);

    public bool TryDequeueApply(out Message m) => _applyQueue.TryDequeue(out m!);

    public static ByteString Context(ulong id) => ByteString.CopyFrom(BitConverter.GetBytes(id));
}
