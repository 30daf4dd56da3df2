using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Log;

/// <summary>etcd's log_unstable_test.go, re-expressed.</summary>
public class UnstableLogTests
{
    private static Snapshot Snap(ulong index, ulong term) => new() { Metadata = new SnapshotMetadata { Index = index, Term = term, ConfState = new ConfState() } };

    [Fact]
    public void TryGetFirstIndex_WithSnapshot_IsSnapshotIndexPlusOne()
    {
        Assert.False(UnstableLog.Create(5, [Entry(5, 1)], null).TryGetFirstIndex(out _));
        Assert.True(UnstableLog.Create(5, [Entry(5, 1)], Snap(4, 1)).TryGetFirstIndex(out ulong first));
        Assert.Equal(5UL, first);
    }

    [Fact]
    public void TryGetLastIndex_EntriesOrSnapshot_ReturnsLast()
    {
        Assert.True(UnstableLog.Create(5, [Entry(5, 1)], null).TryGetLastIndex(out ulong last));
        Assert.Equal(5UL, last);
        Assert.True(UnstableLog.Create(5, [], Snap(4, 1)).TryGetLastIndex(out last));
        Assert.Equal(4UL, last);
        Assert.False(UnstableLog.Create(0, [], null).TryGetLastIndex(out _));
    }

    [Theory]
    [InlineData(5UL, true, 1UL)]
    [InlineData(6UL, false, 0UL)]
    [InlineData(4UL, true, 1UL)] // the snapshot's index
    [InlineData(3UL, false, 0UL)]
    public void TryGetTerm_EntriesAndSnapshot_KnowsOnlyWhatItHolds(ulong index, bool found, ulong term)
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1)], Snap(4, 1));
        Assert.Equal(found, log.TryGetTerm(index, out ulong actual));
        Assert.Equal(term, actual);
    }

    [Fact]
    public void Restore_Snapshot_DropsEntriesAndMovesOffset()
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1)], Snap(4, 1), offsetInProgress: 6, snapshotInProgress: true);
        log.Restore(Snap(6, 2));
        Assert.Equal(7UL, log.Offset);
        Assert.Equal(7UL, log.OffsetInProgress);
        Assert.Equal(0, log.Count);
        Assert.Equal(6UL, log.Snapshot!.Metadata.Index);
        Assert.False(log.SnapshotInProgress);
    }

    [Fact]
    public void NextEntries_SomeInProgress_ReturnsOnlyTheRest()
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1), Entry(6, 1)], null, offsetInProgress: 6);
        Assert.Equal(new ulong[] { 6 }, log.NextEntries().Select(e => e.Index));
        log.AcceptInProgress();
        Assert.Equal(0, log.NextEntries().Count);
        Assert.Equal(7UL, log.OffsetInProgress);
    }

    [Fact]
    public void NextSnapshot_InProgress_ReturnsNull()
    {
        UnstableLog log = UnstableLog.Create(5, [], Snap(4, 1));
        Assert.NotNull(log.NextSnapshot());
        log.AcceptInProgress();
        Assert.Null(log.NextSnapshot());
        Assert.True(log.SnapshotInProgress);
    }

    [Theory]
    [InlineData(5UL, 1UL, 6UL, 1)] // stable to the first entry
    [InlineData(5UL, 2UL, 5UL, 2)] // term mismatch: ignored
    [InlineData(4UL, 1UL, 5UL, 2)] // the snapshot's index: ignored
    [InlineData(7UL, 1UL, 5UL, 2)] // missing: ignored
    public void StableTo_Cases_DropsOnlyMatchingPrefix(ulong index, ulong term, ulong expectedOffset, int expectedCount)
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1), Entry(6, 1)], Snap(4, 1), offsetInProgress: 7);
        log.StableTo(index, term);
        Assert.Equal(expectedOffset, log.Offset);
        Assert.Equal(expectedCount, log.Count);
        Assert.True(log.OffsetInProgress >= log.Offset);
    }

    [Fact]
    public void TruncateAndAppend_NextIndex_Appends()
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1)], null, offsetInProgress: 6);
        log.TruncateAndAppend(EntriesFrom(6, 1, 1), 0);
        Assert.Equal(new ulong[] { 5, 6, 7 }, log.AllEntries().Select(e => e.Index));
        Assert.Equal(6UL, log.OffsetInProgress);
    }

    [Fact]
    public void TruncateAndAppend_BeforeOffset_ReplacesEverything()
    {
        UnstableLog log = UnstableLog.Create(5, [Entry(5, 1)], null, offsetInProgress: 6);
        log.TruncateAndAppend(EntriesFrom(4, 2, 2, 2), 0);
        Assert.Equal(4UL, log.Offset);
        Assert.Equal(4UL, log.OffsetInProgress);
        Assert.Equal(new ulong[] { 2, 2, 2 }, log.AllEntries().Select(e => e.Term));
    }

    [Fact]
    public void TruncateAndAppend_InTheMiddle_TruncatesAndKeepsEarlierViews()
    {
        UnstableLog log = UnstableLog.Create(5, EntriesFrom(5, 1, 1, 1), null, offsetInProgress: 8);
        ArraySegment<Entry> before = log.Slice(5, 8);
        log.TruncateAndAppend(EntriesFrom(6, 2), 0);
        Assert.Equal(new ulong[] { 1, 2 }, log.AllEntries().Select(e => e.Term));
        Assert.Equal(6UL, log.OffsetInProgress);

        // The view handed out before (e.g. a Ready being persisted) is not rewritten.
        Assert.Equal(new ulong[] { 1, 1, 1 }, before.Select(e => e.Term));
    }

    [Fact]
    public void Slice_OutOfBounds_Throws()
    {
        UnstableLog log = UnstableLog.Create(5, EntriesFrom(5, 1, 1), null);
        Assert.Throws<InvalidOperationException>(() => log.Slice(4, 6));
        Assert.Throws<InvalidOperationException>(() => log.Slice(5, 8));
        Assert.Equal(2, log.Slice(5, 7).Count);
    }
}
