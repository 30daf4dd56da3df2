using Google.Protobuf;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Storage;

/// <summary>etcd's storage_test.go, re-expressed: a storage whose snapshot is at 3/3 and whose entries are 4/4, 5/5 (and 6/6).</summary>
public class MemoryStorageTests
{
    private static MemoryStorage StorageWith(params ulong[] termsFromIndex3)
    {
        // etcd's MemoryStorage{ents: index(3).terms(...)}: the first entry is the dummy.
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 3, Term = termsFromIndex3[0], ConfState = new ConfState() } });
        storage.Append(EntriesFrom(4, termsFromIndex3[1..]));
        return storage;
    }

    [Theory]
    [InlineData(3UL, 3UL)]
    [InlineData(4UL, 4UL)]
    [InlineData(5UL, 5UL)]
    public void Term_InRange_ReturnsTerm(ulong index, ulong expected) => Assert.Equal(expected, StorageWith(3, 4, 5).Term(index));

    [Fact]
    public void Term_BelowDummy_ThrowsCompacted() => Assert.Throws<LogCompactedException>(() => StorageWith(3, 4, 5).Term(2));

    [Fact]
    public void Term_PastLast_ThrowsUnavailable() => Assert.Throws<LogUnavailableException>(() => StorageWith(3, 4, 5).Term(6));

    [Theory]
    [InlineData(2UL, 6UL)]
    [InlineData(3UL, 4UL)]
    public void Entries_FromCompactedIndex_ThrowsCompacted(ulong lo, ulong hi) =>
        Assert.Throws<LogCompactedException>(() => StorageWith(3, 4, 5, 6).Entries(lo, hi, ulong.MaxValue));

    [Theory]
    [InlineData(4UL, 5UL, ulong.MaxValue, 1)]
    [InlineData(4UL, 6UL, ulong.MaxValue, 2)]
    [InlineData(4UL, 7UL, ulong.MaxValue, 3)]
    [InlineData(4UL, 7UL, 0UL, 1)]
    public void Entries_Range_ReturnsLimitedPrefix(ulong lo, ulong hi, ulong maxBytes, int expectedCount)
    {
        IReadOnlyList<Entry> entries = StorageWith(3, 4, 5, 6).Entries(lo, hi, maxBytes);
        Assert.Equal(expectedCount, entries.Count);
        Assert.Equal(lo, entries[0].Index);
    }

    [Fact]
    public void Entries_SizeLimits_CutAtEntryBoundaries()
    {
        MemoryStorage storage = StorageWith(3, 4, 5, 6);
        ulong s4 = (ulong)Entry(4, 4).CalculateSize();
        ulong s5 = (ulong)Entry(5, 5).CalculateSize();
        ulong s6 = (ulong)Entry(6, 6).CalculateSize();
        Assert.Equal(2, storage.Entries(4, 7, s4 + s5).Count);
        Assert.Equal(2, storage.Entries(4, 7, s4 + s5 + (s6 / 2)).Count);
        Assert.Equal(2, storage.Entries(4, 7, s4 + s5 + s6 - 1).Count);
        Assert.Equal(3, storage.Entries(4, 7, s4 + s5 + s6).Count);
    }

    [Fact]
    public void LastIndex_AfterAppend_IsLastEntry()
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        Assert.Equal(5UL, storage.LastIndex());
        storage.Append([Entry(6, 5)]);
        Assert.Equal(6UL, storage.LastIndex());
    }

    [Fact]
    public void FirstIndex_AfterCompact_MovesPastCompactIndex()
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        Assert.Equal(4UL, storage.FirstIndex());
        storage.Compact(4);
        Assert.Equal(5UL, storage.FirstIndex());
    }

    [Theory]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Compact_AtOrBelowDummy_ThrowsCompactedAndKeepsLog(ulong index)
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        Assert.Throws<LogCompactedException>(() => storage.Compact(index));
        Assert.Equal(4UL, storage.FirstIndex());
        Assert.Equal(3UL, storage.Term(3));
    }

    [Theory]
    [InlineData(4UL, 4UL, 1)]
    [InlineData(5UL, 5UL, 0)]
    public void Compact_InRange_KeepsTermOfCompactIndex(ulong index, ulong expectedTerm, int remaining)
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        storage.Compact(index);
        Assert.Equal(expectedTerm, storage.Term(index));
        Assert.Equal(index + 1, storage.FirstIndex());
        Assert.Equal((ulong)remaining, storage.LastIndex() - index);
    }

    [Fact]
    public void Compact_AfterEntriesWereReturned_LeavesReturnedViewIntact()
    {
        MemoryStorage storage = StorageWith(3, 4, 5, 6);
        IReadOnlyList<Entry> view = storage.Entries(4, 7, ulong.MaxValue);
        storage.Compact(5);
        storage.Append([Entry(6, 9)]);
        Assert.Equal(new ulong[] { 4, 5, 6 }, view.Select(e => e.Term));
    }

    [Theory]
    [InlineData(4UL, 4UL)]
    [InlineData(5UL, 5UL)]
    public void CreateSnapshot_InRange_RecordsIndexTermConfStateAndData(ulong index, ulong expectedTerm)
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        var confState = new ConfState { Voters = { 1, 2, 3 } };
        Snapshot snapshot = storage.CreateSnapshot(index, confState, ByteString.CopyFromUtf8("data"));
        Assert.Equal(index, snapshot.Metadata.Index);
        Assert.Equal(expectedTerm, snapshot.Metadata.Term);
        Assert.Equal(confState, snapshot.Metadata.ConfState);
        Assert.Equal("data", snapshot.Data.ToStringUtf8());
        Assert.Equal(snapshot, storage.Snapshot());
    }

    [Fact]
    public void CreateSnapshot_NotNewer_ThrowsOutOfDate()
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        storage.CreateSnapshot(4, null, ByteString.Empty);
        Assert.Throws<SnapshotOutOfDateException>(() => storage.CreateSnapshot(4, null, ByteString.Empty));
    }

    public static TheoryData<ulong[], ulong[]> AppendCases() => new()
    {
        // (first index of appended, their terms) → terms of entries 3.. afterwards (3 is the dummy).
        { new ulong[] { 3, 3, 4, 5 }, new ulong[] { 3, 4, 5 } },
        { new ulong[] { 3, 3, 6, 6 }, new ulong[] { 3, 6, 6 } },
        { new ulong[] { 3, 3, 4, 5, 5 }, new ulong[] { 3, 4, 5, 5 } },

        // Truncate incoming entries (2 is compacted), truncate existing ones and append.
        { new ulong[] { 2, 3, 3, 5 }, new ulong[] { 3, 5 } },

        // Truncate existing entries and append.
        { new ulong[] { 4, 5 }, new ulong[] { 3, 5 } },

        // Direct append.
        { new ulong[] { 6, 5 }, new ulong[] { 3, 4, 5, 5 } },
    };

    [Theory]
    [MemberData(nameof(AppendCases))]
    public void Append_Cases_TruncateConflictsAndSkipCompacted(ulong[] firstAndTerms, ulong[] expectedTerms)
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        storage.Append(EntriesFrom(firstAndTerms[0], firstAndTerms[1..]));
        var terms = new List<ulong>();
        for (ulong i = 3; i <= storage.LastIndex(); i++)
        {
            terms.Add(storage.Term(i));
        }

        Assert.Equal(expectedTerms, terms);
    }

    [Fact]
    public void Append_WithGap_Throws()
    {
        MemoryStorage storage = StorageWith(3, 4, 5);
        Assert.Throws<InvalidOperationException>(() => storage.Append([Entry(7, 5)]));
    }

    [Fact]
    public void ApplySnapshot_Newer_ReplacesLog()
    {
        var storage = new MemoryStorage();
        storage.Append(EntriesFrom(1, 1, 1, 2));
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 4, Term = 4, ConfState = new ConfState { Voters = { 1, 2, 3 } } } });
        Assert.Equal(5UL, storage.FirstIndex());
        Assert.Equal(4UL, storage.LastIndex());
        Assert.Equal(4UL, storage.Term(4));
        Assert.Equal(new ulong[] { 1, 2, 3 }, storage.InitialState().ConfState.Voters);
    }

    [Fact]
    public void ApplySnapshot_Older_ThrowsOutOfDate()
    {
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 4, Term = 4, ConfState = new ConfState() } });
        Assert.Throws<SnapshotOutOfDateException>(() =>
            storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 3, Term = 3, ConfState = new ConfState() } }));
    }

    [Fact]
    public void SetHardState_ThenInitialState_ReturnsCopy()
    {
        var storage = new MemoryStorage();
        var hardState = new HardState { Term = 2, Vote = 1, Commit = 0 };
        storage.SetHardState(hardState);
        hardState.Term = 9;
        Assert.Equal(2UL, storage.InitialState().HardState.Term);
    }

    [Fact]
    public void Entries_EmptyStorage_ThrowsUnavailable() => Assert.Throws<LogUnavailableException>(() => new MemoryStorage().Entries(1, 1, 0));
}
