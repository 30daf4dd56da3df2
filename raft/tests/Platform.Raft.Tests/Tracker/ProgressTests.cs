using Platform.Raft.Tracker;

namespace Platform.Raft.Tests.Tracker;

public class ProgressTests
{
    private static Progress NewProgress(ProgressState state = ProgressState.Probe, ulong match = 0, ulong next = 1, int maxInflight = 256) =>
        new(maxInflight, 0) { State = state, Match = match, Next = next, RecentActive = true };

    [Fact]
    public void ToString_AllFlags_MatchesEtcdFormat()
    {
        Progress pr = NewProgress(ProgressState.Snapshot, match: 2, next: 3, maxInflight: 1);
        pr.Inflights.Add(123, 1);
        pr.PendingSnapshot = 123;
        pr.RecentActive = false;
        pr.MsgAppFlowPaused = true;
        pr.IsLearner = true;

        Assert.Equal("StateSnapshot match=2 next=3 learner paused pendingSnap=123 inactive inflight=1[full]", pr.ToString());
    }

    [Fact]
    public void ToString_Replicating_ShowsInflight()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 5, next: 5);
        pr.SentEntries(1, 100);

        Assert.Equal("StateReplicate match=5 next=6 inflight=1", pr.ToString());
    }

    [Theory]
    [InlineData(ProgressState.Probe, false, false)]
    [InlineData(ProgressState.Probe, true, true)]
    [InlineData(ProgressState.Replicate, false, false)]
    [InlineData(ProgressState.Replicate, true, true)]
    [InlineData(ProgressState.Snapshot, false, true)]
    [InlineData(ProgressState.Snapshot, true, true)]
    public void IsPaused_ByStateAndFlag_PausedWhenFlaggedOrSnapshotting(ProgressState state, bool paused, bool expected)
    {
        Progress pr = NewProgress(state);
        pr.MsgAppFlowPaused = paused;

        Assert.Equal(expected, pr.IsPaused());
    }

    [Fact]
    public void MaybeDecrToAndMaybeUpdate_WhilePaused_Unpause()
    {
        Progress pr = NewProgress(next: 2);
        pr.MsgAppFlowPaused = true;

        pr.MaybeDecrTo(1, 1);
        Assert.False(pr.MsgAppFlowPaused);

        pr.MsgAppFlowPaused = true;
        pr.MaybeUpdate(2);
        Assert.False(pr.MsgAppFlowPaused);
    }

    [Theory]
    [InlineData(ProgressState.Replicate, 0UL, 2UL)] // back to match+1
    [InlineData(ProgressState.Snapshot, 10UL, 11UL)] // snapshot delivered: probe past it
    [InlineData(ProgressState.Snapshot, 0UL, 2UL)] // snapshot failed: back to match+1
    public void BecomeProbe_FromState_ResetsNext(ProgressState from, ulong pendingSnapshot, ulong expectedNext)
    {
        Progress pr = NewProgress(from, match: 1, next: 5);
        pr.PendingSnapshot = pendingSnapshot;
        pr.MsgAppFlowPaused = true;
        pr.Inflights.Add(4, 1);

        pr.BecomeProbe();

        Assert.Equal(ProgressState.Probe, pr.State);
        Assert.Equal(1UL, pr.Match);
        Assert.Equal(expectedNext, pr.Next);
        Assert.Equal(0UL, pr.PendingSnapshot);
        Assert.False(pr.MsgAppFlowPaused);
        Assert.Equal(0, pr.Inflights.Count);
    }

    [Fact]
    public void BecomeProbe_SentCommitAboveNext_RegressesIt()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 3, next: 10);
        pr.SentCommit(8);

        pr.BecomeProbe();

        Assert.Equal(4UL, pr.Next);
        Assert.Equal(3UL, pr.SentCommitIndex);
    }

    [Fact]
    public void BecomeReplicate_FromProbe_NextIsMatchPlusOne()
    {
        Progress pr = NewProgress(ProgressState.Probe, match: 1, next: 5);

        pr.BecomeReplicate();

        Assert.Equal(ProgressState.Replicate, pr.State);
        Assert.Equal(1UL, pr.Match);
        Assert.Equal(2UL, pr.Next);
    }

    [Fact]
    public void BecomeSnapshot_FromProbe_PendsSnapshotAndCountsItsCommit()
    {
        Progress pr = NewProgress(ProgressState.Probe, match: 1, next: 5);

        pr.BecomeSnapshot(10);

        Assert.Equal(ProgressState.Snapshot, pr.State);
        Assert.Equal(1UL, pr.Match);
        Assert.Equal(10UL, pr.PendingSnapshot);
        Assert.Equal(11UL, pr.Next);
        Assert.Equal(10UL, pr.SentCommitIndex);
        Assert.True(pr.IsPaused());
    }

    [Theory]
    [InlineData(2UL, 3UL, 5UL, false)] // do not decrease match, next
    [InlineData(3UL, 3UL, 5UL, false)] // do not decrease next
    [InlineData(4UL, 4UL, 5UL, true)] // increase match, do not decrease next
    [InlineData(5UL, 5UL, 6UL, true)] // increase match, next
    public void MaybeUpdate_Ack_MovesMatchAndNextForward(ulong ack, ulong expectedMatch, ulong expectedNext, bool expectedUpdated)
    {
        Progress pr = NewProgress(match: 3, next: 5);

        Assert.Equal(expectedUpdated, pr.MaybeUpdate(ack));
        Assert.Equal(expectedMatch, pr.Match);
        Assert.Equal(expectedNext, pr.Next);
    }

    [Theory]
    [InlineData(ProgressState.Replicate, 5UL, 10UL, 5UL, 5UL, false, 10UL)] // rejected ≤ match: stale
    [InlineData(ProgressState.Replicate, 5UL, 10UL, 4UL, 4UL, false, 10UL)] // rejected ≤ match: stale
    [InlineData(ProgressState.Replicate, 5UL, 10UL, 9UL, 9UL, true, 6UL)] // back to match+1
    [InlineData(ProgressState.Probe, 0UL, 0UL, 0UL, 0UL, false, 0UL)] // next-1 ≠ rejected: stale
    [InlineData(ProgressState.Probe, 0UL, 10UL, 5UL, 5UL, false, 10UL)] // next-1 ≠ rejected: stale
    [InlineData(ProgressState.Probe, 0UL, 10UL, 9UL, 9UL, true, 9UL)] // down by one
    [InlineData(ProgressState.Probe, 0UL, 2UL, 1UL, 1UL, true, 1UL)] // down by one
    [InlineData(ProgressState.Probe, 0UL, 1UL, 0UL, 0UL, true, 1UL)] // never below 1
    [InlineData(ProgressState.Probe, 0UL, 10UL, 9UL, 2UL, true, 3UL)] // to the hint + 1
    [InlineData(ProgressState.Probe, 0UL, 10UL, 9UL, 0UL, true, 1UL)] // hint 0: to 1
    public void MaybeDecrTo_Rejection_LowersNextUnlessStale(
        ProgressState state, ulong match, ulong next, ulong rejected, ulong hint, bool expectedDecreased, ulong expectedNext)
    {
        Progress pr = NewProgress(state, match, next);

        Assert.Equal(expectedDecreased, pr.MaybeDecrTo(rejected, hint));
        Assert.Equal(match, pr.Match);
        Assert.Equal(expectedNext, pr.Next);
    }

    [Fact]
    public void MaybeDecrTo_Genuine_RegressesSentCommit()
    {
        Progress pr = NewProgress(ProgressState.Probe, match: 0, next: 10);
        pr.SentCommit(9);

        pr.MaybeDecrTo(9, 2);

        Assert.Equal(3UL, pr.Next);
        Assert.Equal(2UL, pr.SentCommitIndex);
    }

    [Fact]
    public void SentEntries_Replicate_AdvancesNextAndTracksInflight()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 5, next: 6, maxInflight: 2);

        pr.SentEntries(3, 300);

        Assert.Equal(9UL, pr.Next);
        Assert.Equal(1, pr.Inflights.Count);
        Assert.Equal(300UL, pr.Inflights.Bytes);
        Assert.False(pr.MsgAppFlowPaused);

        pr.Inflights.FreeLE(7);
        Assert.Equal(1, pr.Inflights.Count); // freed only by an ack of the message's last index, 8
        pr.Inflights.FreeLE(8);
        Assert.Equal(0, pr.Inflights.Count);
    }

    [Fact]
    public void SentEntries_ReplicateFillingTheWindow_PausesTheFlow()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 5, next: 6, maxInflight: 2);

        pr.SentEntries(1, 1);
        Assert.False(pr.MsgAppFlowPaused);
        pr.SentEntries(1, 1);

        Assert.True(pr.MsgAppFlowPaused);
        Assert.True(pr.IsPaused());
    }

    [Fact]
    public void SentEntries_ReplicateEmptyIntoFullWindow_StaysPaused()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 5, next: 6, maxInflight: 1);
        pr.SentEntries(1, 1);
        pr.MsgAppFlowPaused = false; // a heartbeat response

        pr.SentEntries(0, 0); // an empty probe

        Assert.Equal(7UL, pr.Next);
        Assert.True(pr.MsgAppFlowPaused);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(5, true)]
    public void SentEntries_Probe_PausesOnlyWhenEntriesSent(int entries, bool expectedPaused)
    {
        Progress pr = NewProgress(ProgressState.Probe, match: 1, next: 2);

        pr.SentEntries(entries, 10);

        Assert.Equal(expectedPaused, pr.MsgAppFlowPaused);
        Assert.Equal(2UL, pr.Next); // probes do not move Next optimistically
        Assert.Equal(0, pr.Inflights.Count);
    }

    [Fact]
    public void SentEntries_Snapshot_Throws()
    {
        Progress pr = NewProgress(ProgressState.Snapshot);

        Assert.Throws<InvalidOperationException>(() => pr.SentEntries(1, 1));
    }

    [Theory]
    [InlineData(0UL, 5UL, 3UL, true)]
    [InlineData(0UL, 5UL, 0UL, false)] // nothing new to send
    [InlineData(3UL, 5UL, 3UL, false)] // already sent
    [InlineData(4UL, 5UL, 9UL, false)] // already sent Next-1: the follower cannot commit more
    [InlineData(3UL, 5UL, 9UL, true)]
    public void CanBumpCommit_SentCommitAndNext_OnlyWhenFollowerCanAdvance(ulong sent, ulong next, ulong commit, bool expected)
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 0, next: next);
        pr.SentCommit(sent);

        Assert.Equal(expected, pr.CanBumpCommit(commit));
    }

    [Fact]
    public void Clone_Mutated_LeavesOriginalAlone()
    {
        Progress pr = NewProgress(ProgressState.Replicate, match: 1, next: 2, maxInflight: 4);
        pr.SentEntries(1, 10);

        Progress clone = pr.Clone();
        clone.SentEntries(2, 20);
        clone.MaybeUpdate(4);
        clone.IsLearner = true;

        Assert.Equal("StateReplicate match=1 next=3 inflight=1", pr.ToString());
        Assert.Equal(1, pr.Inflights.Count);
        Assert.NotSame(pr.Inflights, clone.Inflights);
        Assert.Equal("StateReplicate match=4 next=5 learner inflight=2", clone.ToString());
    }
}
