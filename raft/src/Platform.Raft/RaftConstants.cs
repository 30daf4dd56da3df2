namespace Platform.Raft;

/// <summary>Well-known node ids.</summary>
public static class RaftConstants
{
    /// <summary>No node: used for "no leader" and "no vote". Never a valid node id.</summary>
    public const ulong None = 0;

    /// <summary>
    /// The local thread that writes unstable entries, the HardState and snapshots to stable storage.
    /// Target of <see cref="MessageType.MsgStorageAppend"/> when <see cref="RaftConfig.AsyncStorageWrites"/> is on.
    /// </summary>
    public const ulong LocalAppendThread = ulong.MaxValue;

    /// <summary>
    /// The local thread that applies committed entries to the state machine.
    /// Target of <see cref="MessageType.MsgStorageApply"/> when <see cref="RaftConfig.AsyncStorageWrites"/> is on.
    /// </summary>
    public const ulong LocalApplyThread = ulong.MaxValue - 1;
}
