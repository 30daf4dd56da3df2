namespace Platform.Raft;

/// <summary>
/// The raft log: the stable part in <see cref="IRaftStorage"/> followed by the
/// <see cref="UnstableLog"/> tail, plus the commit and apply positions.
/// Invariant: Applied &lt;= Applying &lt;= Committed &lt;= LastIndex.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftLogger _logger;

    // Bound on the encoded bytes of committed entries handed out for application but not yet
    // acknowledged through AppliedTo (MaxCommittedBytesPerReady).
    private readonly ulong _maxApplyingBytes;
    private ulong _applyingBytes;
    private bool _applyingPaused;

    public RaftLog(IRaftStorage storage, IRaftLogger logger, ulong maxApplyingBytes = EntrySizes.NoLimit)
    {
        Storage = storage;
        _logger = logger;
        _maxApplyingBytes = maxApplyingBytes;
        ulong firstIndex = storage.FirstIndex();
        ulong lastIndex = storage.LastIndex();
        Unstable = new UnstableLog(lastIndex + 1, logger);

        // Start at the last compaction: everything in the snapshot is committed and applied.
        Committed = firstIndex - 1;
        Applying = firstIndex - 1;
        Applied = firstIndex - 1;
    }

    public IRaftStorage Storage { get; }

    /// <summary>The applying budget, also the page size for scanning unapplied entries.</summary>
    public ulong MaxApplyingBytes => _maxApplyingBytes;

    public UnstableLog Unstable { get; }

    /// <summary>The highest index known to be stored on a quorum.</summary>
    public ulong Committed { get; internal set; }

    /// <summary>The highest index handed to the application for applying (maybe not applied yet).</summary>
    public ulong Applying { get; private set; }

    /// <summary>The highest index the application reported applied.</summary>
    public ulong Applied { get; private set; }

    public override string ToString() =>
        $"committed={Committed}, applied={Applied}, applying={Applying}, unstable.offset={Unstable.Offset}, unstable.offsetInProgress={Unstable.OffsetInProgress}, len(unstable.Entries)={Unstable.Count}";

    /// <summary>
    /// Appends a leader's entries that follow (<paramref name="prevIndex"/>, <paramref name="prevTerm"/>)
    /// if our log has that entry, truncating a conflicting tail, then commits up to
    /// min(<paramref name="leaderCommit"/>, last new index): never past what the message proved.
    /// </summary>
    /// <returns>False when our log does not contain the previous entry.</returns>
    public bool TryAppend(ulong prevIndex, ulong prevTerm, IReadOnlyList<Entry> entries, ulong leaderCommit, out ulong lastNewIndex)
    {
        if (!MatchTerm(prevIndex, prevTerm))
        {
            lastNewIndex = 0;
            return false;
        }

        lastNewIndex = prevIndex + (ulong)entries.Count;
        ulong conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed)
            {
                throw new InvalidOperationException($"entry {conflict} conflict with committed entry [committed({Committed})]");
            }

            ulong offset = prevIndex + 1;
            if (conflict - offset > (ulong)entries.Count)
            {
                throw new InvalidOperationException($"index, {conflict - offset}, is out of range [{entries.Count}]");
            }

            Append(entries, (int)(conflict - offset));
        }

        CommitTo(Math.Min(leaderCommit, lastNewIndex));
        return true;
    }

    /// <summary>Appends <paramref name="entries"/>[<paramref name="from"/>..] (truncating what follows their first index).</summary>
    /// <returns>The new last index.</returns>
    public ulong Append(IReadOnlyList<Entry> entries, int from = 0)
    {
        if (entries.Count - from <= 0)
        {
            return LastIndex();
        }

        ulong after = entries[from].Index - 1;
        if (after < Committed)
        {
            throw new InvalidOperationException($"after({after}) is out of range [committed({Committed})]");
        }

        Unstable.TruncateAndAppend(entries, from);
        return LastIndex();
    }

    /// <summary>
    /// The index of the first entry of <paramref name="entries"/> (consecutive indexes) whose term
    /// differs from ours or that we do not have; 0 when we have them all.
    /// </summary>
    public ulong FindConflict(IReadOnlyList<Entry> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Entry entry = entries[i];
            if (!MatchTerm(entry.Index, entry.Term))
            {
                if (entry.Index <= LastIndex())
                {
                    _logger.Info($"found conflict at index {entry.Index} [existing term: {ZeroTermOnOutOfBounds(entry.Index)}, conflicting term: {entry.Term}]");
                }

                return entry.Index;
            }
        }

        return 0;
    }

    /// <summary>
    /// A best guess of where this log stops matching another log of which we only know that
    /// entry <paramref name="index"/> has <paramref name="term"/>: the largest index &lt;= index
    /// whose term is &lt;= term or unknown (compacted or missing), with that term (0 if unknown).
    /// Used on both sides of a rejected append to skip whole terms of a divergent tail.
    /// </summary>
    public (ulong Index, ulong Term) FindConflictByTerm(ulong index, ulong term)
    {
        for (; index > 0; index--)
        {
            if (!TryTerm(index, out ulong ourTerm))
            {
                return (index, 0);
            }

            if (ourTerm <= term)
            {
                return (index, ourTerm);
            }
        }

        return (0, 0);
    }

    public ArraySegment<Entry> NextUnstableEntries() => Unstable.NextEntries();

    public bool HasNextUnstableEntries => Unstable.HasNextEntries;

    public bool HasNextOrInProgressUnstableEntries => Unstable.Count > 0;

    /// <summary>
    /// The committed entries to hand out for applying next, within the applying-bytes budget.
    /// With <paramref name="allowUnstable"/>, committed entries not yet durable locally may be
    /// included (safe in the synchronous Ready mode, where the Ready persists them first).
    /// </summary>
    public IReadOnlyList<Entry> NextCommittedEntries(bool allowUnstable)
    {
        if (_applyingPaused || HasNextOrInProgressSnapshot)
        {
            // A pending snapshot is applied first; entries after it wait.
            return [];
        }

        ulong lo = Applying + 1;
        ulong hi = MaxAppliableIndex(allowUnstable) + 1;
        if (lo >= hi)
        {
            return [];
        }

        ulong maxBytes = _maxApplyingBytes - _applyingBytes;
        if (maxBytes == 0)
        {
            throw new InvalidOperationException($"applying entry size ({_maxApplyingBytes}-{_applyingBytes})=0 not positive");
        }

        return Slice(lo, hi, maxBytes);
    }

    public bool HasNextCommittedEntries(bool allowUnstable)
    {
        if (_applyingPaused || HasNextOrInProgressSnapshot)
        {
            return false;
        }

        return Applying + 1 < MaxAppliableIndex(allowUnstable) + 1;
    }

    /// <summary>The highest committed index that may be applied: only durable ones unless <paramref name="allowUnstable"/>.</summary>
    public ulong MaxAppliableIndex(bool allowUnstable) => allowUnstable ? Committed : Math.Min(Committed, Unstable.Offset - 1);

    public Snapshot? NextUnstableSnapshot() => Unstable.NextSnapshot();

    public bool HasNextUnstableSnapshot => Unstable.NextSnapshot() is not null;

    public bool HasNextOrInProgressSnapshot => Unstable.Snapshot is not null;

    /// <summary>The pending snapshot, else the storage's.</summary>
    /// <exception cref="SnapshotTemporarilyUnavailableException">From the storage.</exception>
    public Snapshot GetSnapshot() => Unstable.Snapshot ?? Storage.Snapshot();

    public ulong FirstIndex() => Unstable.TryGetFirstIndex(out ulong index) ? index : Storage.FirstIndex();

    public ulong LastIndex() => Unstable.TryGetLastIndex(out ulong index) ? index : Storage.LastIndex();

    /// <summary>Raises the commit index (never lowers it).</summary>
    /// <exception cref="InvalidOperationException">The index is past the end of the log: the log was lost or corrupted.</exception>
    public void CommitTo(ulong toCommit)
    {
        if (Committed < toCommit)
        {
            if (LastIndex() < toCommit)
            {
                throw new InvalidOperationException($"tocommit({toCommit}) is out of range [lastIndex({LastIndex()})]. Was the raft log corrupted, truncated, or lost?");
            }

            Committed = toCommit;
        }
    }

    /// <summary>The application applied up to <paramref name="index"/>, releasing <paramref name="bytes"/> of the applying budget.</summary>
    public void AppliedTo(ulong index, ulong bytes)
    {
        if (Committed < index || index < Applied)
        {
            throw new InvalidOperationException($"applied({index}) is out of range [prevApplied({Applied}), committed({Committed})]");
        }

        Applied = index;
        Applying = Math.Max(Applying, index);
        _applyingBytes = _applyingBytes > bytes ? _applyingBytes - bytes : 0;
        _applyingPaused = _applyingBytes >= _maxApplyingBytes;
    }

    /// <summary>Entries up to <paramref name="index"/> (<paramref name="bytes"/> encoded) were handed out for applying.</summary>
    public void AcceptApplying(ulong index, ulong bytes, bool allowUnstable)
    {
        if (Committed < index)
        {
            throw new InvalidOperationException($"applying({index}) is out of range [prevApplying({Applying}), committed({Committed})]");
        }

        Applying = index;
        _applyingBytes += bytes;

        // Pause when over budget, or when the budget cut the last batch short (the next entry
        // would exceed it): resume once some of it is acknowledged.
        _applyingPaused = _applyingBytes >= _maxApplyingBytes || index < MaxAppliableIndex(allowUnstable);
    }

    public void StableTo(ulong index, ulong term) => Unstable.StableTo(index, term);

    public void StableSnapTo(ulong index) => Unstable.StableSnapTo(index);

    /// <summary>The current unstable entries and snapshot were handed out for persistence.</summary>
    public void AcceptUnstable() => Unstable.AcceptInProgress();

    public (ulong Index, ulong Term) LastEntryId()
    {
        ulong index = LastIndex();
        if (!TryTerm(index, out ulong term))
        {
            throw new InvalidOperationException($"unexpected error when getting the last term at {index}");
        }

        return (index, term);
    }

    public ulong LastTerm() => LastEntryId().Term;

    /// <summary>
    /// The term of entry <paramref name="index"/>, valid in [FirstIndex - 1, LastIndex]; false when
    /// compacted or not in the log.
    /// </summary>
    public bool TryTerm(ulong index, out ulong term)
    {
        // The unstable part first: it needs no storage call and covers the hot path.
        if (Unstable.TryGetTerm(index, out term))
        {
            return true;
        }

        if (index + 1 < FirstIndex() || index > LastIndex())
        {
            term = 0;
            return false;
        }

        try
        {
            term = Storage.Term(index);
            return true;
        }
        catch (LogCompactedException)
        {
            term = 0;
            return false;
        }
        catch (LogUnavailableException)
        {
            term = 0;
            return false;
        }
    }

    /// <summary>The term of entry <paramref name="index"/>.</summary>
    /// <exception cref="LogCompactedException">Below FirstIndex - 1.</exception>
    /// <exception cref="LogUnavailableException">Above LastIndex.</exception>
    public ulong Term(ulong index)
    {
        if (Unstable.TryGetTerm(index, out ulong term))
        {
            return term;
        }

        if (index + 1 < FirstIndex())
        {
            throw new LogCompactedException();
        }

        if (index > LastIndex())
        {
            throw new LogUnavailableException();
        }

        return Storage.Term(index);
    }

    /// <summary>The term of <paramref name="index"/>, or 0 when it is out of the log's bounds.</summary>
    public ulong ZeroTermOnOutOfBounds(ulong index) => TryTerm(index, out ulong term) ? term : 0;

    /// <summary>The entries from <paramref name="index"/> to the end, within <paramref name="maxBytes"/> (at least one).</summary>
    /// <returns>False when <paramref name="index"/> is compacted.</returns>
    public bool TryEntries(ulong index, ulong maxBytes, out IReadOnlyList<Entry> entries)
    {
        ulong last = LastIndex();
        if (index > last)
        {
            entries = [];
            return true;
        }

        try
        {
            entries = Slice(index, last + 1, maxBytes);
            return true;
        }
        catch (LogCompactedException)
        {
            entries = [];
            return false;
        }
    }

    /// <summary>The entries from <paramref name="index"/> to the end.</summary>
    /// <exception cref="LogCompactedException"><paramref name="index"/> is compacted.</exception>
    public IReadOnlyList<Entry> Entries(ulong index, ulong maxBytes)
    {
        ulong last = LastIndex();
        return index > last ? [] : Slice(index, last + 1, maxBytes);
    }

    /// <summary>Every entry in the log (tests and diagnostics).</summary>
    public IReadOnlyList<Entry> AllEntries()
    {
        while (true)
        {
            try
            {
                return Entries(FirstIndex(), EntrySizes.NoLimit);
            }
            catch (LogCompactedException)
            {
                // A compaction raced with us: try again.
            }
        }
    }

    /// <summary>
    /// Whether a log ending at (<paramref name="index"/>, <paramref name="term"/>) is at least as
    /// up to date as ours: a later last term wins; with equal last terms the longer log wins.
    /// </summary>
    public bool IsUpToDate(ulong index, ulong term)
    {
        (ulong ourIndex, ulong ourTerm) = LastEntryId();
        return term > ourTerm || (term == ourTerm && index >= ourIndex);
    }

    public bool MatchTerm(ulong index, ulong term) => TryTerm(index, out ulong ourTerm) && ourTerm == term;

    /// <summary>
    /// Commits up to <paramref name="index"/> if that entry has <paramref name="term"/> (the
    /// leader's current term: entries of earlier terms are committed only indirectly, Raft §5.4.2).
    /// </summary>
    public bool MaybeCommit(ulong index, ulong term)
    {
        // term 0 never matches: a leader campaigned at least at term 1.
        if (term != 0 && index > Committed && MatchTerm(index, term))
        {
            CommitTo(index);
            return true;
        }

        return false;
    }

    /// <summary>Replaces the log with <paramref name="snapshot"/>, which becomes committed.</summary>
    public void Restore(Snapshot snapshot)
    {
        _logger.Info($"log [{this}] starts to restore snapshot [index: {snapshot.Metadata.Index}, term: {snapshot.Metadata.Term}]");
        Committed = snapshot.Metadata.Index;
        Unstable.Restore(snapshot);
    }

    /// <summary>
    /// Visits the entries in [<paramref name="lo"/>, <paramref name="hi"/>) in consecutive pages of
    /// up to <paramref name="pageBytes"/> (more if one entry is larger) until the visitor returns false.
    /// </summary>
    public void Scan(ulong lo, ulong hi, ulong pageBytes, Func<IReadOnlyList<Entry>, bool> visitor)
    {
        while (lo < hi)
        {
            IReadOnlyList<Entry> page = Slice(lo, hi, pageBytes);
            if (page.Count == 0)
            {
                throw new InvalidOperationException($"got 0 entries in [{lo}, {hi})");
            }

            if (!visitor(page))
            {
                return;
            }

            lo += (ulong)page.Count;
        }
    }

    /// <summary>
    /// The entries in [<paramref name="lo"/>, <paramref name="hi"/>) within <paramref name="maxBytes"/>
    /// (at least one). Unstable entries are returned as views, without copying.
    /// </summary>
    /// <exception cref="LogCompactedException"><paramref name="lo"/> is compacted.</exception>
    public IReadOnlyList<Entry> Slice(ulong lo, ulong hi, ulong maxBytes)
    {
        CheckOutOfBounds(lo, hi);
        if (lo == hi)
        {
            return [];
        }

        ulong offset = Unstable.Offset;
        if (lo >= offset)
        {
            return EntrySizes.Limit(Unstable.Slice(lo, hi), maxBytes);
        }

        ulong cut = Math.Min(hi, offset);
        IReadOnlyList<Entry> stored;
        try
        {
            stored = Storage.Entries(lo, cut, maxBytes);
        }
        catch (LogUnavailableException e)
        {
            throw new InvalidOperationException($"entries[{lo}:{cut}) is unavailable from storage", e);
        }

        if (hi <= offset || (ulong)stored.Count < cut - lo)
        {
            // All from storage, or storage already hit the size limit.
            return stored;
        }

        ulong storedBytes = EntrySizes.EncodedBytes(stored);
        if (storedBytes >= maxBytes)
        {
            return stored;
        }

        ArraySegment<Entry> unstable = EntrySizes.Limit(Unstable.Slice(offset, hi), maxBytes - storedBytes);

        // Limit returns one entry even when it alone exceeds the remaining budget: drop it then.
        if (unstable.Count == 1 && storedBytes + EntrySizes.EncodedBytes(unstable[0]) > maxBytes)
        {
            return stored;
        }

        var combined = new Entry[stored.Count + unstable.Count];
        for (int i = 0; i < stored.Count; i++)
        {
            combined[i] = stored[i];
        }

        unstable.CopyTo(combined, stored.Count);
        return combined;
    }

    private void CheckOutOfBounds(ulong lo, ulong hi)
    {
        if (lo > hi)
        {
            throw new InvalidOperationException($"invalid slice {lo} > {hi}");
        }

        ulong first = FirstIndex();
        if (lo < first)
        {
            throw new LogCompactedException();
        }

        ulong last = LastIndex();
        if (hi > last + 1)
        {
            throw new InvalidOperationException($"slice[{lo},{hi}) out of bound [{first},{last}]");
        }
    }
}
