using Google.Protobuf;

namespace Platform.Raft;

/// <summary>
/// An <see cref="IRaftStorage"/> in memory, for tests, simulations and benchmarks (and a model
/// for durable implementations). Thread-safe: the application appends from its persistence code
/// while raft reads from the thread driving the node.
/// </summary>
/// <remarks>
/// Layout as etcd's: a dummy entry standing for the snapshot (its index and term, kept as two
/// fields here) followed by the entries FirstIndex..LastIndex, held in an <see cref="EntryArena"/>
/// (slots and byte chunks the garbage collector neither traces nor copies). <see cref="Append"/>
/// copies the entries' data in; <see cref="Entries"/> returns new entry objects whose data are
/// views of it, which a truncating <see cref="Append"/> or a <see cref="Compact"/> never rewrites.
/// </remarks>
public sealed class MemoryStorage : IRaftStorage
{
    private readonly Lock _lock = new();
    private readonly EntryArena _entries = new();
    private HardState _hardState = new();
    private Snapshot _snapshot = NewEmptySnapshot();

    // The dummy entry: index and term of the last entry folded into the snapshot (0/0 initially).
    private ulong _dummyIndex;
    private ulong _dummyTerm;

    /// <summary>Calls made so far, per member: lets tests check that raft avoids storage round trips.</summary>
    internal int TermCalls { get; private set; }

    internal int EntriesCalls { get; private set; }

    public (HardState HardState, ConfState ConfState) InitialState()
    {
        lock (_lock)
        {
            return (_hardState.Clone(), (_snapshot.Metadata.ConfState ?? new ConfState()).Clone());
        }
    }

    /// <summary>Saves the current HardState (the application calls it with each Ready's HardState).</summary>
    public void SetHardState(HardState hardState)
    {
        ArgumentNullException.ThrowIfNull(hardState);
        lock (_lock)
        {
            _hardState = hardState.Clone();
        }
    }

    public IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxBytes)
    {
        lock (_lock)
        {
            EntriesCalls++;
            if (lo <= _dummyIndex)
            {
                throw new LogCompactedException();
            }

            if (hi > LastIndexLocked() + 1)
            {
                throw new InvalidOperationException($"entries' hi({hi}) is out of bound lastindex({LastIndexLocked()})");
            }

            if (_entries.Count == 0)
            {
                // Only the dummy entry: nothing is available.
                throw new LogUnavailableException();
            }

            int start = (int)(lo - _dummyIndex - 1);
            int count = (int)(hi - lo);
            if (count > 1 && maxBytes != EntrySizes.NoLimit)
            {
                // etcd's limitSize, from the sizes kept at append: at least one entry.
                ulong bytes = (ulong)_entries.EncodedSize(start);
                for (int limit = 1; limit < count; limit++)
                {
                    bytes += (ulong)_entries.EncodedSize(start + limit);
                    if (bytes > maxBytes)
                    {
                        count = limit;
                        break;
                    }
                }
            }

            return _entries.Read(start, count, lo);
        }
    }

    public ulong Term(ulong index)
    {
        lock (_lock)
        {
            TermCalls++;
            if (index < _dummyIndex)
            {
                throw new LogCompactedException();
            }

            if (index == _dummyIndex)
            {
                return _dummyTerm;
            }

            ulong position = index - _dummyIndex - 1;
            if (position >= (ulong)_entries.Count)
            {
                throw new LogUnavailableException();
            }

            return _entries.Term((int)position);
        }
    }

    public ulong LastIndex()
    {
        lock (_lock)
        {
            return LastIndexLocked();
        }
    }

    public ulong FirstIndex()
    {
        lock (_lock)
        {
            return _dummyIndex + 1;
        }
    }

    public Snapshot Snapshot()
    {
        lock (_lock)
        {
            return _snapshot.Clone();
        }
    }

    /// <summary>
    /// Replaces the whole content with <paramref name="snapshot"/>: the log becomes empty after
    /// the snapshot's index. The application calls it with each Ready's snapshot.
    /// </summary>
    /// <exception cref="SnapshotOutOfDateException">The snapshot is not newer than the current one.</exception>
    public void ApplySnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            ulong currentIndex = _snapshot.Metadata.Index;
            ulong newIndex = snapshot.Metadata?.Index ?? 0;

            // During bootstrap an application may install a snapshot carrying only a ConfState
            // (index and term 0); allow that on an empty storage.
            if (currentIndex != 0 && currentIndex >= newIndex)
            {
                throw new SnapshotOutOfDateException();
            }

            _snapshot = snapshot.Clone();
            _snapshot.Metadata ??= new SnapshotMetadata();
            _snapshot.Metadata.ConfState ??= new ConfState();
            _dummyIndex = _snapshot.Metadata.Index;
            _dummyTerm = _snapshot.Metadata.Term;
            _entries.Clear();
        }
    }

    /// <summary>
    /// Makes the snapshot returned by <see cref="Snapshot"/> cover the log up to
    /// <paramref name="index"/>, with the application's <paramref name="data"/>. If the
    /// configuration changed since the last snapshot, pass the latest ConfState (the result of
    /// the last <see cref="RawNode.ApplyConfChange(ConfChangeV2)"/>); null keeps the previous one.
    /// Does not discard entries: call <see cref="Compact"/> for that.
    /// </summary>
    /// <returns>A copy of the new snapshot.</returns>
    /// <exception cref="SnapshotOutOfDateException"><paramref name="index"/> is not above the current snapshot's.</exception>
    public Snapshot CreateSnapshot(ulong index, ConfState? confState, ByteString data)
    {
        ArgumentNullException.ThrowIfNull(data);
        lock (_lock)
        {
            if (index <= _snapshot.Metadata.Index)
            {
                throw new SnapshotOutOfDateException();
            }

            if (index > LastIndexLocked())
            {
                throw new InvalidOperationException($"snapshot {index} is out of bound lastindex({LastIndexLocked()})");
            }

            _snapshot.Metadata.Index = index;
            _snapshot.Metadata.Term = TermLocked(index);
            if (confState is not null)
            {
                _snapshot.Metadata.ConfState = confState.Clone();
            }

            _snapshot.Data = data;
            return _snapshot.Clone();
        }
    }

    /// <summary>
    /// Discards the entries before <paramref name="compactIndex"/>; its term stays available as
    /// the new dummy. The application must not compact past what it has applied (and should have
    /// created a snapshot covering the discarded entries first).
    /// </summary>
    /// <exception cref="LogCompactedException"><paramref name="compactIndex"/> is already compacted.</exception>
    public void Compact(ulong compactIndex)
    {
        lock (_lock)
        {
            if (compactIndex <= _dummyIndex)
            {
                throw new LogCompactedException();
            }

            if (compactIndex > LastIndexLocked())
            {
                throw new InvalidOperationException($"compact {compactIndex} is out of bound lastindex({LastIndexLocked()})");
            }

            ulong term = TermLocked(compactIndex);
            _entries.DropPrefix((int)(compactIndex - _dummyIndex));
            _dummyIndex = compactIndex;
            _dummyTerm = term;
        }
    }

    /// <summary>
    /// Appends entries (consecutive indexes) to the log. Entries at or below the first index are
    /// ignored (already compacted); existing entries from the first new index on are replaced (a
    /// conflicting tail is truncated). The first new index must not leave a gap after LastIndex.
    /// </summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            ulong first = _dummyIndex + 1;
            ulong firstNew = entries[0].Index;
            ulong lastNew = firstNew + (ulong)entries.Count - 1;
            if (lastNew < first)
            {
                // Everything is already compacted.
                return;
            }

            int skip = first > firstNew ? (int)(first - firstNew) : 0;
            ulong appendAt = firstNew + (ulong)skip;
            ulong keep = appendAt - first;
            if (keep > (ulong)_entries.Count)
            {
                throw new InvalidOperationException($"missing log entry [last: {LastIndexLocked()}, append at: {appendAt}]");
            }

            _entries.Truncate((int)keep);
            _entries.Append(entries, skip, entries.Count - skip);
        }
    }

    private ulong LastIndexLocked() => _dummyIndex + (ulong)_entries.Count;

    private ulong TermLocked(ulong index) => index == _dummyIndex ? _dummyTerm : _entries.Term((int)(index - _dummyIndex - 1));

    private static Snapshot NewEmptySnapshot() => new() { Metadata = new SnapshotMetadata { ConfState = new ConfState() } };
}
