namespace Platform.Raft;

/// <summary>
/// A batch of work from <see cref="RawNode.GetReady"/>: state to persist, messages to send and
/// entries to apply. All fields are read-only snapshots; neither the entries nor the messages
/// may be mutated (raft and the storage may still reference them).
/// </summary>
/// <remarks>
/// <para>The contract (synchronous mode), in order:</para>
/// <list type="number">
/// <item><description>Write <see cref="Entries"/>, then <see cref="HardState"/> and
/// <see cref="Snapshot"/> to stable storage, fsyncing when <see cref="MustSync"/> is true.</description></item>
/// <item><description>Send <see cref="Messages"/> only once step 1 is durable. The one exception
/// (Raft thesis §10.2.1): a leader may send its MsgApp messages in parallel with its own write,
/// because it does not count itself towards a quorum until the write is done.</description></item>
/// <item><description>Apply <see cref="CommittedEntries"/> (and a <see cref="Snapshot"/>) to the
/// state machine; config-change entries through <see cref="RawNode.ApplyConfChange(ConfChangeV2)"/>.</description></item>
/// <item><description>Call <see cref="RawNode.Advance"/>.</description></item>
/// </list>
/// <para>With <see cref="RaftConfig.AsyncStorageWrites"/>, the persistence and apply work comes
/// instead as MsgStorageAppend/MsgStorageApply messages inside <see cref="Messages"/> (see
/// there), and Advance must not be called.</para>
/// </remarks>
public sealed class Ready
{
    internal Ready()
    {
    }

    /// <summary>The new soft state, or null when it did not change since the previous Ready. Never persisted.</summary>
    public SoftState? SoftState { get; internal set; }

    /// <summary>
    /// The HardState (term, vote, commit) to persist, or null when unchanged. Must be durable,
    /// together with <see cref="Entries"/>, before <see cref="Messages"/> are sent: a vote that was
    /// sent but not persisted could be cast twice after a restart.
    /// </summary>
    public HardState? HardState { get; internal set; }

    /// <summary>
    /// Requests served by ReadIndex since the previous Ready: serve each read once applied
    /// reaches its index. Empty when there are none.
    /// </summary>
    public IReadOnlyList<ReadState> ReadStates { get; internal set; } = [];

    /// <summary>
    /// Entries to append to stable storage, replacing any stored entries from the first one's
    /// index on. Must be durable BEFORE <see cref="Messages"/> are sent (except a leader's MsgApp,
    /// see the remarks on <see cref="Ready"/>).
    /// </summary>
    public IReadOnlyList<Entry> Entries { get; internal set; } = [];

    /// <summary>
    /// A snapshot to persist and apply to the state machine, or null. Like <see cref="Entries"/>,
    /// it must be durable before <see cref="Messages"/> are sent.
    /// </summary>
    public Snapshot? Snapshot { get; internal set; }

    /// <summary>
    /// Committed entries to apply to the state machine, in order. They were persisted before (in
    /// this or an earlier Ready's <see cref="Entries"/>): apply them only after this Ready's
    /// <see cref="Entries"/> are written, as some may come from this very Ready.
    /// </summary>
    public IReadOnlyList<Entry> CommittedEntries { get; internal set; } = [];

    /// <summary>
    /// Messages to send once <see cref="Entries"/>, <see cref="HardState"/> and
    /// <see cref="Snapshot"/> are durable. Report failures with <see cref="RawNode.ReportUnreachable"/>
    /// and, for MsgSnap, <see cref="RawNode.ReportSnapshot"/>. With
    /// <see cref="RaftConfig.AsyncStorageWrites"/> this also holds a MsgStorageAppend for
    /// <see cref="RaftConstants.LocalAppendThread"/> and/or a MsgStorageApply for
    /// <see cref="RaftConstants.LocalApplyThread"/>; each carries <see cref="Message.Responses"/>
    /// to deliver once its work is done (durably, for the append), and the remaining messages may
    /// be sent immediately (responses that need durability travel inside the MsgStorageAppend).
    /// </summary>
    public IReadOnlyList<Message> Messages { get; internal set; } = [];

    /// <summary>
    /// Whether the write of <see cref="Entries"/> and <see cref="HardState"/> must be synced to
    /// disk (fsync) before messages go out: true when there are entries or the term or vote
    /// changed. A commit-index-only change may be written lazily.
    /// </summary>
    public bool MustSync { get; internal set; }

    /// <summary>Whether the Ready carries nothing at all.</summary>
    public bool IsEmpty =>
        SoftState is null && HardState is null && ReadStates.Count == 0 && Entries.Count == 0 && Snapshot is null
        && CommittedEntries.Count == 0 && Messages.Count == 0;

    public override string ToString() => RaftDescribe.DescribeReady(this);
}
