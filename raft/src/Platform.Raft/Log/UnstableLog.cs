namespace Platform.Raft;

/// <summary>
/// The tail of the log not yet known to be in stable storage: new entries and possibly a
/// snapshot received from the leader. It holds them until a Ready hands them out for
/// persistence, and keeps holding them (as "in progress") until the write is acknowledged, so the
/// log stays readable in between. Entry i of the window has index <see cref="Offset"/> + i; the
/// offset may be below the storage's last index, meaning the next write truncates storage first.
/// </summary>
internal sealed class UnstableLog
{
    private readonly EntryWindow _entries = new();
    private readonly IRaftLogger _logger;

    public UnstableLog(ulong offset, IRaftLogger logger)
    {
        Offset = offset;
        OffsetInProgress = offset;
        _logger = logger;
    }

    /// <summary>The incoming snapshot, if any; it precedes all entries.</summary>
    public Snapshot? Snapshot { get; private set; }

    /// <summary>True once the snapshot was handed out for persistence.</summary>
    public bool SnapshotInProgress { get; private set; }

    /// <summary>Index of the first unstable entry.</summary>
    public ulong Offset { get; private set; }

    /// <summary>
    /// Entries in [Offset, OffsetInProgress) are being written to storage (exclusive bound, like
    /// Offset). Invariant: Offset &lt;= OffsetInProgress &lt;= Offset + Count.
    /// </summary>
    public ulong OffsetInProgress { get; private set; }

    public int Count => _entries.Count;

    /// <summary>The first index of the log when a snapshot is pending (the snapshot's index + 1).</summary>
    public bool TryGetFirstIndex(out ulong index)
    {
        if (Snapshot is not null)
        {
            index = Snapshot.Metadata.Index + 1;
            return true;
        }

        index = 0;
        return false;
    }

    /// <summary>The last index when there is an unstable entry or snapshot.</summary>
    public bool TryGetLastIndex(out ulong index)
    {
        if (_entries.Count != 0)
        {
            index = Offset + (ulong)_entries.Count - 1;
            return true;
        }

        if (Snapshot is not null)
        {
            index = Snapshot.Metadata.Index;
            return true;
        }

        index = 0;
        return false;
    }

    /// <summary>The term of entry <paramref name="index"/> if the unstable part knows it.</summary>
    public bool TryGetTerm(ulong index, out ulong term)
    {
        if (index < Offset)
        {
            if (Snapshot is not null && Snapshot.Metadata.Index == index)
            {
                term = Snapshot.Metadata.Term;
                return true;
            }

            term = 0;
            return false;
        }

        ulong position = index - Offset;
        if (position >= (ulong)_entries.Count)
        {
            term = 0;
            return false;
        }

        term = _entries[(int)position].Term;
        return true;
    }

    /// <summary>The entries not yet handed out for persistence.</summary>
    public ArraySegment<Entry> NextEntries()
    {
        int inProgress = (int)(OffsetInProgress - Offset);
        return _entries.Slice(inProgress, _entries.Count - inProgress);
    }

    public bool HasNextEntries => (int)(OffsetInProgress - Offset) < _entries.Count;

    /// <summary>The snapshot if it exists and was not yet handed out for persistence.</summary>
    public Snapshot? NextSnapshot() => SnapshotInProgress ? null : Snapshot;

    /// <summary>
    /// Marks every current entry and the snapshot as handed out (in progress): they are no longer
    /// returned by <see cref="NextEntries"/>/<see cref="NextSnapshot"/>, while later additions are.
    /// </summary>
    public void AcceptInProgress()
    {
        if (_entries.Count > 0)
        {
            OffsetInProgress = _entries.Last.Index + 1;
        }

        if (Snapshot is not null)
        {
            SnapshotInProgress = true;
        }
    }

    /// <summary>
    /// Entries up to (<paramref name="index"/>, <paramref name="term"/>) are durable: drop them.
    /// Ignored when that entry is not in the unstable part with that term: the tail was replaced
    /// meanwhile, and the write that completed is not the one that counts. Callers must also
    /// guarantee that no in-progress write can still overwrite these entries (see the async-write
    /// ABA note in RawNode).
    /// </summary>
    public void StableTo(ulong index, ulong term)
    {
        if (!TryGetTerm(index, out ulong currentTerm))
        {
            _logger.Debug($"entry at index {index} missing from unstable log; ignoring");
            return;
        }

        if (index < Offset)
        {
            _logger.Info($"entry at index {index} matched unstable snapshot; ignoring");
            return;
        }

        if (currentTerm != term)
        {
            _logger.Info($"entry at (index,term)=({index},{term}) mismatched with entry at ({index},{currentTerm}) in unstable log; ignoring");
            return;
        }

        _entries.DropPrefix((int)(index + 1 - Offset));
        Offset = index + 1;
        OffsetInProgress = Math.Max(OffsetInProgress, Offset);
    }

    /// <summary>The snapshot at <paramref name="index"/> is durable: drop it.</summary>
    public void StableSnapTo(ulong index)
    {
        if (Snapshot is not null && Snapshot.Metadata.Index == index)
        {
            Snapshot = null;
            SnapshotInProgress = false;
        }
    }

    /// <summary>Replaces everything with <paramref name="snapshot"/> (entries are discarded).</summary>
    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        OffsetInProgress = Offset;
        _entries.Clear();
        Snapshot = snapshot;
        SnapshotInProgress = false;
    }

    /// <summary>
    /// Appends <paramref name="source"/>[<paramref name="from"/>..], truncating any unstable
    /// entries at or after the first new index. The first new index must be at most
    /// Offset + Count (no gap).
    /// </summary>
    public void TruncateAndAppend(IReadOnlyList<Entry> source, int from)
    {
        int count = source.Count - from;
        if (count <= 0)
        {
            return;
        }

        ulong fromIndex = source[from].Index;
        if (fromIndex == Offset + (ulong)_entries.Count)
        {
            // The common case: the next index, append directly.
            _entries.Append(source, from, count);
        }
        else if (fromIndex <= Offset)
        {
            // The log is truncated before the unstable part: replace it all.
            _logger.Info($"replace the unstable entries from index {fromIndex}");
            _entries.Clear();
            _entries.Append(source, from, count);
            Offset = fromIndex;
            OffsetInProgress = Offset;
        }
        else
        {
            if (fromIndex > Offset + (ulong)_entries.Count)
            {
                throw new InvalidOperationException($"unstable.slice[{Offset},{fromIndex}) out of bound [{Offset},{Offset + (ulong)_entries.Count}]");
            }

            // Keep [Offset, fromIndex) and append; the window moves to a new array, so views of the
            // truncated entries stay intact.
            _logger.Info($"truncate the unstable entries before index {fromIndex}");
            _entries.Truncate((int)(fromIndex - Offset));
            _entries.Append(source, from, count);

            // Only in-progress entries before fromIndex are still in progress.
            OffsetInProgress = Math.Min(OffsetInProgress, fromIndex);
        }
    }

    /// <summary>The entries with indexes in [<paramref name="lo"/>, <paramref name="hi"/>), which must all be unstable.</summary>
    public ArraySegment<Entry> Slice(ulong lo, ulong hi)
    {
        ulong upper = Offset + (ulong)_entries.Count;
        if (lo > hi)
        {
            throw new InvalidOperationException($"invalid unstable.slice {lo} > {hi}");
        }

        if (lo < Offset || hi > upper)
        {
            throw new InvalidOperationException($"unstable.slice[{lo},{hi}) out of bound [{Offset},{upper}]");
        }

        return _entries.Slice((int)(lo - Offset), (int)(hi - lo));
    }

    /// <summary>Test hook: sets up the state directly.</summary>
    internal static UnstableLog Create(ulong offset, IReadOnlyList<Entry> entries, Snapshot? snapshot, ulong offsetInProgress = 0, bool snapshotInProgress = false)
    {
        var log = new UnstableLog(offset, NullRaftLogger.Instance);
        log._entries.Append(entries, 0, entries.Count);
        log.Snapshot = snapshot;
        log.OffsetInProgress = offsetInProgress == 0 ? offset : offsetInProgress;
        log.SnapshotInProgress = snapshotInProgress;
        return log;
    }

    /// <summary>All unstable entries (for tests and diagnostics).</summary>
    internal ArraySegment<Entry> AllEntries() => _entries.Slice(0, _entries.Count);
}
