using Google.Protobuf;

namespace Platform.Raft.Tests.Interaction;

/// <summary>
/// One member of an <see cref="InteractionEnv"/>: a RawNode, its storage, the work queued for its
/// append and apply threads (async storage writes), and the history of its state machine.
/// </summary>
internal sealed class InteractionNode
{
    /// <param name="id">The node's id.</param>
    /// <param name="config">The node's configuration; its storage is <paramref name="storage"/>.</param>
    /// <param name="storage">The storage, already holding the initial snapshot if any.</param>
    /// <param name="history">The state-machine history <paramref name="storage"/> reads its snapshot from, holding the initial state.</param>
    public InteractionNode(ulong id, RaftConfig config, InteractionStorage storage, List<Snapshot> history)
    {
        Id = id;
        Config = config;
        Storage = storage;
        History = history;
        RawNode = new RawNode(config);
    }

    public ulong Id { get; }

    public RaftConfig Config { get; }

    public InteractionStorage Storage { get; }

    public RawNode RawNode { get; }

    /// <summary>The state machine's core, for the commands that need internals.</summary>
    public Raft Raft => RawNode.Raft;

    /// <summary>MsgStorageAppend messages waiting for the append thread, oldest first.</summary>
    public List<Message> AppendWork { get; } = [];

    /// <summary>MsgStorageApply messages waiting for the apply thread, oldest first.</summary>
    public List<Message> ApplyWork { get; } = [];

    /// <summary>
    /// The state machine after each applied entry, as a snapshot: an "appender" whose data is the
    /// concatenation of every applied payload. The last one is what the node sends as a snapshot.
    /// </summary>
    public List<Snapshot> History { get; }
}

/// <summary>
/// A <see cref="MemoryStorage"/> whose <see cref="Snapshot"/> is the node's current state-machine
/// state (the last of its history) rather than the last one created explicitly, so a leader
/// always sends an up-to-date snapshot, as in etcd's interaction tests.
/// </summary>
internal sealed class InteractionStorage : IRaftStorage
{
    private readonly Func<Snapshot> _snapshot;

    public InteractionStorage(Func<Snapshot> snapshot)
    {
        _snapshot = snapshot;
    }

    public MemoryStorage Memory { get; } = new();

    public (HardState HardState, ConfState ConfState) InitialState() => Memory.InitialState();

    public IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxBytes) => Memory.Entries(lo, hi, maxBytes);

    public ulong Term(ulong index) => Memory.Term(index);

    public ulong LastIndex() => Memory.LastIndex();

    public ulong FirstIndex() => Memory.FirstIndex();

    public Snapshot Snapshot() => _snapshot().Clone();

    /// <summary>An empty snapshot with an empty ConfState (etcd's EnsureSnapshot(nil)).</summary>
    public static Snapshot EmptySnapshot() => new() { Data = ByteString.Empty, Metadata = new SnapshotMetadata { ConfState = new ConfState() } };
}
