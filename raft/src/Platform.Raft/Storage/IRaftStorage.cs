namespace Platform.Raft;

/// <summary>
/// The stable log as raft sees it: read-only. The application writes to its storage (the
/// entries, HardState and snapshot of each <see cref="Ready"/>, before sending that Ready's
/// messages) and raft reads back from it. Entries are addressed by index; the log held is the
/// contiguous range [<see cref="FirstIndex"/>, <see cref="LastIndex"/>], preceded by the
/// snapshot whose last index is FirstIndex - 1 (the term of that index stays available).
/// </summary>
/// <remarks>
/// Errors are exceptions. <see cref="LogCompactedException"/>, <see cref="LogUnavailableException"/>
/// and <see cref="SnapshotTemporarilyUnavailableException"/> are understood where documented;
/// any other exception makes the raft node unusable (it propagates out of <see cref="RawNode"/>,
/// and the application must discard the node and restart from storage). Calls come from the
/// thread driving the <see cref="RawNode"/>; an implementation that the application also writes to
/// from other threads must synchronise itself (as <see cref="MemoryStorage"/> does).
/// </remarks>
public interface IRaftStorage
{
    /// <summary>
    /// The persisted HardState (all zero when nothing was saved yet) and the ConfState of the
    /// latest snapshot (or bootstrap state). Called once, when the node is created.
    /// </summary>
    public (HardState HardState, ConfState ConfState) InitialState();

    /// <summary>
    /// The consecutive entries with indexes in [<paramref name="lo"/>, <paramref name="hi"/>),
    /// starting at <paramref name="lo"/>, whose total encoded size (<c>Entry.CalculateSize()</c>)
    /// does not exceed <paramref name="maxBytes"/>, except that at least one entry is returned
    /// when the range is not empty. The returned list and its entries must never be mutated by
    /// the storage afterwards, nor by the caller: raft hands them on in messages and Readys.
    /// </summary>
    /// <exception cref="LogCompactedException"><paramref name="lo"/> is below <see cref="FirstIndex"/>.</exception>
    /// <exception cref="LogUnavailableException">An entry in the range is missing.</exception>
    public IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxBytes);

    /// <summary>
    /// The term of the entry at <paramref name="index"/>, which raft only asks for in
    /// [FirstIndex - 1, LastIndex]. The term of FirstIndex - 1 (the snapshot's last entry) is kept
    /// for matching even though the entry itself is gone.
    /// </summary>
    /// <exception cref="LogCompactedException"><paramref name="index"/> is below FirstIndex - 1.</exception>
    /// <exception cref="LogUnavailableException"><paramref name="index"/> is above LastIndex.</exception>
    public ulong Term(ulong index);

    /// <summary>The index of the last entry (the snapshot index when the log is empty).</summary>
    public ulong LastIndex();

    /// <summary>
    /// The index of the first entry possibly available through <see cref="Entries"/>: older ones
    /// are in the latest snapshot. When only the snapshot (or nothing) is stored, this is
    /// LastIndex + 1.
    /// </summary>
    public ulong FirstIndex();

    /// <summary>The most recent snapshot, sent to followers too far behind to catch up from the log.</summary>
    /// <exception cref="SnapshotTemporarilyUnavailableException">The snapshot is being prepared; raft asks again later.</exception>
    public Snapshot Snapshot();
}
