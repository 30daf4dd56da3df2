using Platform.Raft;

namespace Platform.Etcd.Storage.Wal;

/// <summary>
/// etcd's write-ahead log: raft's hard state and entries, appended to segment files and made
/// durable before raft may act on them (before messages go out, before entries are applied).
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="WriteAheadLog.Create"/> a new log (ready to append), or
/// <see cref="WriteAheadLog.Open"/> an existing one at a snapshot and call <see cref="ReadAll"/>
/// exactly once before appending. One instance is used by one thread at a time (the raft loop);
/// calls are serialised internally anyway. Disposing closes the segments and releases their locks.
/// </remarks>
public interface IWriteAheadLog : IDisposable
{
    /// <summary>The WAL directory (e.g. <c>member/wal</c>).</summary>
    public string Directory { get; }

    /// <summary>
    /// Reads the log from the snapshot it was opened at: the metadata, the last hard state and
    /// every entry with an index above the snapshot's, later entries replacing earlier ones with
    /// the same or a higher index (a new leader overwrote an uncommitted suffix). A torn or
    /// zeroed tail of the last segment is cut off (logged); after that the log appends there.
    /// </summary>
    /// <exception cref="WalException">
    /// Corruption before the tail (CRC mismatch, undecodable record), a segment sequence gap, the
    /// snapshot not recorded in the log, or a second call.
    /// </exception>
    public WalReadResult ReadAll();

    /// <summary>
    /// Appends <paramref name="entries"/> then <paramref name="state"/> (skipped when empty) as one
    /// write, and fdatasyncs once if raft requires it (any entry, or a changed term or vote; a
    /// commit-index-only change need not be durable). Rolls to a new segment once the current
    /// one reaches <see cref="WalOptions.SegmentSizeBytes"/>.
    /// </summary>
    public void Save(HardState state, IReadOnlyList<Entry> entries);

    /// <summary>Records that a raft snapshot was taken at <paramref name="snapshot"/> and fsyncs.</summary>
    public void SaveSnapshot(WalSnapshot snapshot);

    /// <summary>
    /// Releases the locks of segments that hold only entries below <paramref name="index"/>
    /// (keeping the segment that contains it), so <see cref="WriteAheadLog.Purge"/> may delete
    /// them. Call it with the index of the latest raft snapshot.
    /// </summary>
    public void ReleaseLockTo(ulong index);

    /// <summary>fdatasyncs the current segment.</summary>
    public void Sync();
}

/// <summary>What <see cref="IWriteAheadLog.ReadAll"/> recovered.</summary>
/// <param name="Metadata">The bytes given to <see cref="WriteAheadLog.Create"/> (etcd: node and cluster id).</param>
/// <param name="State">The last hard state saved; all zero when none was.</param>
/// <param name="Entries">Entries after the snapshot index, contiguous and ascending.</param>
public sealed record WalReadResult(byte[] Metadata, HardState State, IReadOnlyList<Entry> Entries);

/// <summary>A snapshot marker in the log: raft took a snapshot at (Index, Term).</summary>
public sealed record WalSnapshot(ulong Index, ulong Term, ConfState? ConfState = null)
{
    /// <summary>The start of every log: the empty snapshot at index 0.</summary>
    public static WalSnapshot Empty { get; } = new(0, 0);
}
