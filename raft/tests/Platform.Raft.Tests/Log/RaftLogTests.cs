using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Log;

/// <summary>etcd's log_test.go, re-expressed.</summary>
public class RaftLogTests
{
    private static RaftLog LogWith(params ulong[] termsFromIndex1)
    {
        var storage = new MemoryStorage();
        storage.Append(EntriesFrom(1, termsFromIndex1));
        return new RaftLog(storage, NullRaftLogger.Instance);
    }

    private static ulong[] Terms(IEnumerable<Entry> entries) => entries.Select(e => e.Term).ToArray();

    public static TheoryData<ulong, ulong[], ulong> FindConflictCases() => new()
    {
        // (first index, terms) against a log 1:1 2:2 3:3 → the first conflicting or new index.
        { 1, Array.Empty<ulong>(), 0 },
        { 1, new ulong[] { 1, 2, 3 }, 0 },
        { 2, new ulong[] { 2, 3 }, 0 },
        { 3, new ulong[] { 3 }, 0 },
        { 1, new ulong[] { 1, 2, 3, 4, 4 }, 4 },
        { 2, new ulong[] { 2, 3, 4, 5 }, 4 },
        { 3, new ulong[] { 3, 4, 4 }, 4 },
        { 4, new ulong[] { 4, 4 }, 4 },
        { 1, new ulong[] { 4, 4 }, 1 },
        { 2, new ulong[] { 1, 4, 4 }, 2 },
        { 3, new ulong[] { 1, 2, 4, 4 }, 3 },
    };

    [Theory]
    [MemberData(nameof(FindConflictCases))]
    public void FindConflict_Cases_ReturnsFirstConflictOrNewIndex(ulong first, ulong[] terms, ulong expected)
    {
        RaftLog log = LogWith(1, 2, 3);
        Assert.Equal(expected, log.FindConflict(terms.Length == 0 ? [] : EntriesFrom(first, terms)));
    }

    [Theory]
    [InlineData(5UL, 6UL, 5UL, 5UL)]
    [InlineData(5UL, 5UL, 5UL, 5UL)]
    [InlineData(5UL, 4UL, 2UL, 2UL)]
    [InlineData(5UL, 2UL, 2UL, 2UL)]
    [InlineData(5UL, 1UL, 0UL, 0UL)]
    [InlineData(1UL, 2UL, 1UL, 2UL)]
    [InlineData(1UL, 1UL, 0UL, 0UL)]
    [InlineData(0UL, 0UL, 0UL, 0UL)]
    public void FindConflictByTerm_Cases_ReturnsLastIndexWithTermAtMost(ulong index, ulong term, ulong expectedIndex, ulong expectedTerm)
    {
        RaftLog log = LogWith(2, 2, 5, 5, 5);
        Assert.Equal((expectedIndex, expectedTerm), log.FindConflictByTerm(index, term));
    }

    [Fact]
    public void FindConflictByTerm_ReachesCompactedPrefix_ReturnsUnknownTerm()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 10, Term = 3, ConfState = new ConfState() } });
        storage.Append(EntriesFrom(11, 3, 4, 4, 5));
        var log = new RaftLog(storage, NullRaftLogger.Instance);
        Assert.Equal((13UL, 4UL), log.FindConflictByTerm(14, 4));
        Assert.Equal((11UL, 3UL), log.FindConflictByTerm(14, 3));
        Assert.Equal((9UL, 0UL), log.FindConflictByTerm(14, 2));
    }

    [Theory]
    [InlineData(2UL, 4UL, true)]
    [InlineData(3UL, 4UL, true)]
    [InlineData(4UL, 4UL, true)]
    [InlineData(2UL, 2UL, false)]
    [InlineData(3UL, 2UL, false)]
    [InlineData(4UL, 2UL, false)]
    [InlineData(2UL, 3UL, false)]
    [InlineData(3UL, 3UL, true)]
    [InlineData(4UL, 3UL, true)]
    public void IsUpToDate_Cases_LaterTermThenLongerLogWins(ulong index, ulong term, bool expected) =>
        Assert.Equal(expected, LogWith(1, 2, 3).IsUpToDate(index, term));

    [Theory]
    [InlineData(new ulong[0], 2UL, new ulong[] { 1, 2 }, 3UL)]
    [InlineData(new ulong[] { 3, 2 }, 3UL, new ulong[] { 1, 2, 2 }, 3UL)]
    [InlineData(new ulong[] { 1, 2 }, 1UL, new ulong[] { 2 }, 1UL)]
    [InlineData(new ulong[] { 2, 3, 3 }, 3UL, new ulong[] { 1, 3, 3 }, 2UL)]
    public void Append_Cases_TruncatesConflictsIntoUnstable(ulong[] firstAndTerms, ulong expectedLast, ulong[] expectedTerms, ulong expectedUnstableOffset)
    {
        RaftLog log = LogWith(1, 2);
        ulong last = log.Append(firstAndTerms.Length == 0 ? [] : EntriesFrom(firstAndTerms[0], firstAndTerms[1..]));
        Assert.Equal(expectedLast, last);
        Assert.Equal(expectedTerms, Terms(log.Entries(1, ulong.MaxValue)));
        Assert.Equal(expectedUnstableOffset, log.Unstable.Offset);
    }

    public static TheoryData<ulong, ulong, ulong, ulong[], ulong, bool, ulong> MaybeAppendCases() => new()
    {
        // prevTerm, prevIndex, leaderCommit, (first index, terms...) → lastNew, ok, commit.
        // Log: 1:1 2:2 3:3, committed 1.
        { 2, 3, 3, new ulong[] { 4, 4 }, 0, false, 1 },      // term mismatch
        { 3, 4, 3, new ulong[] { 5, 4 }, 0, false, 1 },      // prev index out of bounds
        { 3, 3, 3, Array.Empty<ulong>(), 3, true, 3 },            // match the last entry
        { 3, 3, 4, Array.Empty<ulong>(), 3, true, 3 },            // commit capped at the last new index
        { 3, 3, 2, Array.Empty<ulong>(), 3, true, 2 },
        { 3, 3, 0, Array.Empty<ulong>(), 3, true, 1 },            // commit never decreases
        { 0, 0, 3, Array.Empty<ulong>(), 0, true, 1 },
        { 3, 3, 3, new ulong[] { 4, 4 }, 4, true, 3 },
        { 3, 3, 4, new ulong[] { 4, 4 }, 4, true, 4 },
        { 3, 3, 5, new ulong[] { 4, 4 }, 4, true, 4 },
        { 3, 3, 5, new ulong[] { 4, 4, 4 }, 5, true, 5 },
        { 2, 2, 3, new ulong[] { 3, 4 }, 3, true, 3 },       // match in the middle, conflict after
        { 1, 1, 3, new ulong[] { 2, 4 }, 2, true, 2 },
        { 1, 1, 3, new ulong[] { 2, 4, 4 }, 3, true, 3 },
    };

    [Theory]
    [MemberData(nameof(MaybeAppendCases))]
    public void TryAppend_Cases_AppendsAndCommitsAtMostVerifiedPrefix(ulong prevTerm, ulong prevIndex, ulong leaderCommit, ulong[] firstAndTerms, ulong expectedLast, bool expectedOk, ulong expectedCommit)
    {
        RaftLog log = LogWith(1, 2, 3);
        log.CommitTo(1);
        Entry[] entries = firstAndTerms.Length == 0 ? [] : EntriesFrom(firstAndTerms[0], firstAndTerms[1..]);
        bool ok = log.TryAppend(prevIndex, prevTerm, entries, leaderCommit, out ulong last);
        Assert.Equal(expectedOk, ok);
        Assert.Equal(expectedLast, last);
        Assert.Equal(expectedCommit, log.Committed);
        if (ok && entries.Length > 0)
        {
            Assert.Equal(Terms(entries), Terms(log.Slice(entries[0].Index, entries[^1].Index + 1, ulong.MaxValue)));
        }
    }

    [Fact]
    public void TryAppend_ConflictWithCommittedEntry_Throws()
    {
        RaftLog log = LogWith(1, 2, 3);
        log.CommitTo(1);
        Assert.Throws<InvalidOperationException>(() => log.TryAppend(0, 0, [Entry(1, 4)], 3, out _));
    }

    [Fact]
    public void CommitTo_PastLastIndex_ThrowsLogLost()
    {
        RaftLog log = LogWith(1, 2, 3);
        log.CommitTo(3);
        log.CommitTo(2); // never decreases
        Assert.Equal(3UL, log.Committed);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => log.CommitTo(4));
        Assert.Contains("tocommit(4) is out of range", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StableTo_MatchingTerm_ShrinksUnstable()
    {
        RaftLog log = LogWith();
        log.Append(EntriesFrom(1, 1, 2));
        log.StableTo(1, 1);
        Assert.Equal(2UL, log.Unstable.Offset);
        log.StableTo(2, 1); // stale term: ignored
        Assert.Equal(2UL, log.Unstable.Offset);
        log.StableTo(3, 2); // missing: ignored
        Assert.Equal(2UL, log.Unstable.Offset);
    }

    [Fact]
    public void Term_AcrossStorageAndUnstable_ReportsCompactedAndUnavailable()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 100, Term = 1, ConfState = new ConfState() } });
        var log = new RaftLog(storage, NullRaftLogger.Instance);
        for (ulong i = 1; i < 50; i++)
        {
            log.Append([Entry(100 + i, i)]);
        }

        Assert.Throws<LogCompactedException>(() => log.Term(99));
        Assert.Equal(1UL, log.Term(100));
        Assert.Equal(25UL, log.Term(125));
        Assert.Equal(49UL, log.Term(149));
        Assert.Throws<LogUnavailableException>(() => log.Term(150));
    }

    [Fact]
    public void Term_UnstableSnapshot_KnowsSnapshotTerm()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 100, Term = 1, ConfState = new ConfState() } });
        var log = new RaftLog(storage, NullRaftLogger.Instance);
        log.Restore(new Snapshot { Metadata = new SnapshotMetadata { Index = 105, Term = 5, ConfState = new ConfState() } });
        Assert.Equal(5UL, log.Term(105));
        Assert.Throws<LogCompactedException>(() => log.Term(100));
        Assert.Throws<LogUnavailableException>(() => log.Term(106));
        Assert.Equal(105UL, log.Committed);
        Assert.Equal(106UL, log.FirstIndex());
    }

    [Fact]
    public void Slice_AcrossStorageAndUnstable_RespectsBoundsAndSize()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 100, Term = 1, ConfState = new ConfState() } });
        for (ulong i = 1; i < 50; i++)
        {
            storage.Append([Entry(100 + i, i)]);
        }

        var log = new RaftLog(storage, NullRaftLogger.Instance);
        for (ulong i = 50; i < 100; i++)
        {
            log.Append([Entry(100 + i, i)]);
        }

        ulong entryBytes = (ulong)Entry(150, 50).CalculateSize();
        Assert.Throws<LogCompactedException>(() => log.Slice(99, 101, ulong.MaxValue));
        Assert.Equal(new ulong[] { 49, 50, 51 }, Terms(log.Slice(149, 152, ulong.MaxValue)));
        Assert.Equal(new ulong[] { 49 }, Terms(log.Slice(149, 152, 0)));
        Assert.Equal(new ulong[] { 49, 50 }, Terms(log.Slice(149, 152, (2 * entryBytes) + 1)));
        Assert.Equal(new ulong[] { 50 }, Terms(log.Slice(150, 152, 0)));
        Assert.Throws<InvalidOperationException>(() => log.Slice(150, 201, ulong.MaxValue));
    }

    [Fact]
    public void Scan_PagesBySize_VisitsEveryEntryOnce()
    {
        RaftLog log = LogWith(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        ulong entryBytes = (ulong)Entry(1, 1).CalculateSize();
        var seen = new List<ulong>();
        int pages = 0;
        log.Scan(2, 10, (entryBytes * 3) + 1, page =>
        {
            pages++;
            seen.AddRange(page.Select(e => e.Index));
            Assert.True(page.Count <= 3);
            return true;
        });
        Assert.Equal(Enumerable.Range(2, 8).Select(i => (ulong)i), seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public void NextCommittedEntries_AllowUnstableOrNot_StopsAtStableBoundary()
    {
        RaftLog log = LogWith(1, 1, 1);
        log.Append(EntriesFrom(4, 1, 1));
        log.CommitTo(5);
        log.AppliedTo(1, 0);
        Assert.Equal(new ulong[] { 2, 3, 4, 5 }, log.NextCommittedEntries(true).Select(e => e.Index));
        Assert.Equal(new ulong[] { 2, 3 }, log.NextCommittedEntries(false).Select(e => e.Index));
        Assert.True(log.HasNextCommittedEntries(false));
        log.AppliedTo(3, 0);
        Assert.False(log.HasNextCommittedEntries(false));
        Assert.True(log.HasNextCommittedEntries(true));
    }

    [Fact]
    public void NextCommittedEntries_PendingSnapshot_ReturnsNothing()
    {
        RaftLog log = LogWith(1, 1, 1);
        log.CommitTo(3);
        log.Restore(new Snapshot { Metadata = new SnapshotMetadata { Index = 10, Term = 2, ConfState = new ConfState() } });
        Assert.Empty(log.NextCommittedEntries(true));
        Assert.False(log.HasNextCommittedEntries(true));
    }

    [Fact]
    public void AcceptApplying_OverBudget_PausesUntilApplied()
    {
        var storage = new MemoryStorage();
        storage.Append(EntriesFrom(1, 1, 1, 1, 1, 1));
        ulong entryBytes = (ulong)Entry(1, 1).CalculateSize();
        var log = new RaftLog(storage, NullRaftLogger.Instance, maxApplyingBytes: 2 * entryBytes);
        log.CommitTo(5);
        IReadOnlyList<Entry> first = log.NextCommittedEntries(true);
        Assert.Equal(2, first.Count);
        log.AcceptApplying(2, EntrySizes.EncodedBytes(first), true);
        Assert.False(log.HasNextCommittedEntries(true));
        log.AppliedTo(2, EntrySizes.EncodedBytes(first));
        Assert.True(log.HasNextCommittedEntries(true));
        Assert.Equal(new ulong[] { 3, 4 }, log.NextCommittedEntries(true).Select(e => e.Index));
    }

    [Fact]
    public void AppliedTo_OutOfRange_Throws()
    {
        RaftLog log = LogWith(1, 1);
        log.CommitTo(1);
        Assert.Throws<InvalidOperationException>(() => log.AppliedTo(2, 0));
    }

    [Fact]
    public void Restore_Snapshot_ResetsCommitAndLastIndex()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 1000, Term = 1000, ConfState = new ConfState() } });
        var log = new RaftLog(storage, NullRaftLogger.Instance);
        Assert.Empty(log.AllEntries());
        Assert.Equal(1001UL, log.FirstIndex());
        Assert.Equal(1000UL, log.LastIndex());
        Assert.Equal(1000UL, log.Committed);
        Assert.Equal(1001UL, log.Unstable.Offset);
        Assert.Equal(1000UL, log.Term(1000));
    }

    [Fact]
    public void Compaction_InStorage_KeepsLogReadableAfterFirstIndex()
    {
        var storage = new MemoryStorage();
        storage.Append(EntriesFrom(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        var log = new RaftLog(storage, NullRaftLogger.Instance);
        log.CommitTo(10);
        log.AppliedTo(10, 0);
        storage.Compact(5);
        Assert.Equal(6UL, log.FirstIndex());
        Assert.Equal(10UL, log.LastIndex());
        Assert.Equal(5, log.AllEntries().Count);
        Assert.True(log.MatchTerm(5, 1));
        Assert.False(log.TryTerm(4, out _));
        Assert.False(log.TryEntries(4, ulong.MaxValue, out _));
    }
}
