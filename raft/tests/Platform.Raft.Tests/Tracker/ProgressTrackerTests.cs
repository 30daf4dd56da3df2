using Platform.Raft.ConfChanges;
using Platform.Raft.Quorum;
using Platform.Raft.Tracker;

namespace Platform.Raft.Tests.Tracker;

public class ProgressTrackerTests
{
    /// <summary>A tracker with the configuration of <paramref name="cs"/>, built the way raft builds it.</summary>
    private static ProgressTracker Tracker(ConfState cs, ulong lastIndex = 5)
    {
        var tracker = new ProgressTracker(8, 1024);
        (tracker.Config, tracker.Progress) = ConfChangeRestore.Restore(new Changer(tracker, lastIndex), cs);
        return tracker;
    }

    private static ConfState Cs(ulong[] voters, ulong[]? learners = null, ulong[]? outgoing = null, ulong[]? learnersNext = null, bool autoLeave = false)
    {
        var cs = new ConfState { AutoLeave = autoLeave };
        cs.Voters.AddRange(voters);
        cs.Learners.AddRange(learners ?? []);
        cs.VotersOutgoing.AddRange(outgoing ?? []);
        cs.LearnersNext.AddRange(learnersNext ?? []);
        return cs;
    }

    [Fact]
    public void ConfState_JointWithLearners_ListsEverythingSorted()
    {
        ConfState cs = Cs([3, 1, 2], learners: [5], outgoing: [6, 1, 2, 4], learnersNext: [4], autoLeave: true);

        ConfState actual = Tracker(cs).ConfState();

        Assert.Equal([1UL, 2, 3], actual.Voters);
        Assert.Equal([1UL, 2, 4, 6], actual.VotersOutgoing);
        Assert.Equal([5UL], actual.Learners);
        Assert.Equal([4UL], actual.LearnersNext);
        Assert.True(actual.AutoLeave);
    }

    [Fact]
    public void ToString_JointConfig_MatchesEtcdFormat()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2], learners: [3], outgoing: [1, 4], learnersNext: [4], autoLeave: true));

        Assert.Equal("voters=(1 2)&&(1 4) learners=(3) learners_next=(4) autoleave", tracker.Config.ToString());
    }

    [Theory]
    [InlineData(new ulong[] { 1 }, new ulong[0], true)]
    [InlineData(new ulong[] { 1, 2 }, new ulong[0], false)]
    [InlineData(new ulong[] { 1 }, new ulong[] { 1, 2 }, false)]
    public void IsSingleton_ByConfig_TrueOnlyForOneVoterNotJoint(ulong[] voters, ulong[] outgoing, bool expected) =>
        Assert.Equal(expected, Tracker(Cs(voters, outgoing: outgoing)).IsSingleton());

    [Fact]
    public void IsSingleton_OneVoterAndLearners_True() =>
        Assert.True(Tracker(Cs([1], learners: [2, 3])).IsSingleton());

    [Fact]
    public void Committed_LearnersAcked_IgnoresLearners()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3], learners: [4, 5]));
        tracker.Progress[1].MaybeUpdate(10);
        tracker.Progress[4].MaybeUpdate(20);
        tracker.Progress[5].MaybeUpdate(20);

        Assert.Equal(0UL, tracker.Committed());

        tracker.Progress[2].MaybeUpdate(7);
        Assert.Equal(7UL, tracker.Committed());
    }

    [Fact]
    public void Committed_Joint_MinOfHalves()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3], outgoing: [1, 4, 5]));
        tracker.Progress[1].MaybeUpdate(10);
        tracker.Progress[2].MaybeUpdate(10);
        tracker.Progress[4].MaybeUpdate(6);

        Assert.Equal(6UL, tracker.Committed());
    }

    [Fact]
    public void Committed_SevenVoters_DoesNotAllocate()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3, 4, 5, 6, 7], learners: [8]));
        ulong[] acks = [9, 3, 7, 1, 8, 2, 6];
        for (ulong id = 1; id <= 7; id++)
        {
            tracker.Progress[id].MaybeUpdate(acks[id - 1]);
        }

        ulong committed = tracker.Committed(); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            committed = tracker.Committed();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(6UL, committed);
    }

    [Fact]
    public void Visit_ProgressAddedOutOfOrder_VisitsInAscendingIdOrder()
    {
        var tracker = new ProgressTracker(4, 0);
        foreach (ulong id in new ulong[] { 42, 7, 19, 3, 100, 8 })
        {
            tracker.Progress.Add(id, new Progress(4, 0));
        }

        var visited = new List<ulong>();
        tracker.Visit((id, _) => visited.Add(id));

        Assert.Equal([3UL, 7, 8, 19, 42, 100], visited);
        Assert.Equal(visited, tracker.Progress.Keys);
    }

    [Fact]
    public void QuorumActive_ByRecentActive_NeedsAMajorityOfVoters()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3], learners: [4, 5]));
        tracker.Visit((_, pr) => pr.RecentActive = false);
        tracker.Progress[1].RecentActive = true;
        tracker.Progress[4].RecentActive = true;
        tracker.Progress[5].RecentActive = true;

        Assert.False(tracker.QuorumActive());

        tracker.Progress[3].RecentActive = true;
        Assert.True(tracker.QuorumActive());
    }

    [Fact]
    public void QuorumActive_Joint_NeedsBothHalves()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3], outgoing: [4, 5, 6]));
        tracker.Visit((id, pr) => pr.RecentActive = id <= 3);

        Assert.False(tracker.QuorumActive());

        tracker.Progress[4].RecentActive = true;
        tracker.Progress[6].RecentActive = true;
        Assert.True(tracker.QuorumActive());
    }

    [Fact]
    public void VoterNodesAndLearnerNodes_Joint_SortedUnions()
    {
        ProgressTracker tracker = Tracker(Cs([5, 1, 3], learners: [9, 7], outgoing: [1, 2, 3]));

        Assert.Equal([1UL, 2, 3, 5], tracker.VoterNodes());
        Assert.Equal([7UL, 9], tracker.LearnerNodes());
        Assert.Empty(Tracker(Cs([1])).LearnerNodes());
    }

    [Fact]
    public void RecordVote_Twice_FirstVoteWins()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3]));

        tracker.RecordVote(1, true);
        tracker.RecordVote(1, false);
        tracker.RecordVote(2, false);
        tracker.RecordVote(2, true);

        Assert.True(tracker.Votes[1]);
        Assert.False(tracker.Votes[2]);
        Assert.Equal((1, 1, VoteResult.Pending), tracker.TallyVotes());
    }

    [Fact]
    public void TallyVotes_LearnersAndStrangersVote_CountsVotersOnly()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3], learners: [4]));
        tracker.RecordVote(4, true);
        tracker.RecordVote(99, true);
        tracker.RecordVote(1, true);

        Assert.Equal((1, 0, VoteResult.Pending), tracker.TallyVotes());

        tracker.RecordVote(2, true);
        Assert.Equal((2, 0, VoteResult.Won), tracker.TallyVotes());
    }

    [Fact]
    public void TallyVotes_MajorityRejects_Lost()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2, 3]));
        tracker.RecordVote(1, true);
        tracker.RecordVote(2, false);
        tracker.RecordVote(3, false);

        Assert.Equal((1, 2, VoteResult.Lost), tracker.TallyVotes());
    }

    [Fact]
    public void ResetVotes_AfterVotes_ForgetsThem()
    {
        ProgressTracker tracker = Tracker(Cs([1]));
        tracker.RecordVote(1, false);

        tracker.ResetVotes();
        tracker.RecordVote(1, true);

        Assert.Equal((1, 0, VoteResult.Won), tracker.TallyVotes());
    }

    [Fact]
    public void ProgressMapClone_Mutated_LeavesOriginalAlone()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2]));
        ProgressMap clone = tracker.Progress.Clone();

        clone[1].MaybeUpdate(9);
        clone.Remove(2);
        clone.Add(3, new Progress(1, 0));

        Assert.Equal([1UL, 2], tracker.Progress.Keys);
        Assert.Equal(0UL, tracker.Progress[1].Match);
        Assert.Equal([1UL, 3], clone.Keys);
    }

    [Fact]
    public void ProgressMap_MissingId_ThrowsOrReportsAbsent()
    {
        var map = new ProgressMap();
        map.Add(2, new Progress(1, 0));

        Assert.Throws<KeyNotFoundException>(() => map[1]);
        Assert.False(map.TryGetValue(1, out _));
        Assert.False(map.TryGetAckedIndex(1, out _));
        Assert.Throws<ArgumentException>(() => map.Add(2, new Progress(1, 0)));
        Assert.False(map.Remove(1));
    }

    [Fact]
    public void ProgressMap_ModifiedDuringEnumeration_Throws()
    {
        var map = new ProgressMap();
        map.Add(1, new Progress(1, 0));
        map.Add(2, new Progress(1, 0));

        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (KeyValuePair<ulong, Progress> kv in map)
            {
                map.Remove(kv.Key);
            }
        });
    }

    [Fact]
    public void Clone_TrackerConfig_SharesNothing()
    {
        ProgressTracker tracker = Tracker(Cs([1, 2], learners: [3], outgoing: [1, 4], learnersNext: [4], autoLeave: true));
        TrackerConfig clone = tracker.Config.Clone();

        clone.Voters.Incoming.Add(9);
        clone.Voters.Outgoing.Remove(4);
        clone.Learners!.Add(10);
        clone.LearnersNext!.Clear();
        clone.AutoLeave = false;

        Assert.Equal("voters=(1 2)&&(1 4) learners=(3) learners_next=(4) autoleave", tracker.Config.ToString());
    }
}
