using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft.Tests.ConfChanges;

public class ChangerTests
{
    private static IReadOnlyList<ConfChangeSingle> P(string s) => ConfChangeExtensions.ParseConfChanges(s);

    private static ProgressTracker Install(ProgressTracker tracker, (TrackerConfig Config, ProgressMap Progress) result)
    {
        tracker.Config = result.Config;
        tracker.Progress = result.Progress;
        return tracker;
    }

    [Fact]
    public void Simple_NewMembers_ProgressFromTrackerSettings()
    {
        var tracker = new ProgressTracker(7, 4096);

        (TrackerConfig cfg, ProgressMap progress) = new Changer(tracker, 12).Simple(P("v1 l2"));

        foreach (ulong id in new ulong[] { 1, 2 })
        {
            Progress pr = progress[id];
            Assert.Equal(0UL, pr.Match);
            Assert.Equal(12UL, pr.Next);
            Assert.True(pr.RecentActive);
            Assert.Equal(ProgressState.Probe, pr.State);
            Assert.Equal(7, pr.Inflights.Capacity);
            Assert.Equal(4096UL, pr.Inflights.MaxBytes);
        }

        Assert.False(progress[1].IsLearner);
        Assert.True(progress[2].IsLearner);
        Assert.Equal("voters=(1) learners=(2)", cfg.ToString());
    }

    [Fact]
    public void Simple_LastIndexZero_NextIsOne() =>
        Assert.Equal(1UL, new Changer(new ProgressTracker(1, 0), 0).Simple(P("v1")).Progress[1].Next);

    [Fact]
    public void Simple_Refused_ThrowsConfChangeExceptionAndLeavesTrackerAlone()
    {
        ProgressTracker tracker = Install(new ProgressTracker(1, 0), new Changer(new ProgressTracker(1, 0), 1).Simple(P("v1")));

        ConfChangeException e = Assert.Throws<ConfChangeException>(() => new Changer(tracker, 2).Simple(P("v2 v3")));

        Assert.IsAssignableFrom<InvalidOperationException>(e);
        Assert.Equal("more than one voter changed without entering joint config", e.Message);
        Assert.Equal("voters=(1)", tracker.Config.ToString());
        Assert.Equal([1UL], tracker.Progress.Keys);
    }

    [Fact]
    public void EnterJoint_Demotion_KeepsProgressStateAndMatch()
    {
        var tracker = new ProgressTracker(4, 0);
        Install(tracker, new Changer(tracker, 1).Simple(P("v1")));
        Install(tracker, new Changer(tracker, 1).Simple(P("v2")));
        tracker.Progress[2].MaybeUpdate(5);
        tracker.Progress[2].BecomeReplicate();

        Install(tracker, new Changer(tracker, 9).EnterJoint(false, P("l2 v3")));
        Install(tracker, new Changer(tracker, 9).LeaveJoint());

        Progress pr = tracker.Progress[2];
        Assert.True(pr.IsLearner);
        Assert.Equal(5UL, pr.Match);
        Assert.Equal(ProgressState.Replicate, pr.State);
        Assert.Equal("voters=(1 3) learners=(2)", tracker.Config.ToString());
    }

    [Fact]
    public void EnterJoint_ResultMutated_TrackerUnaffected()
    {
        ProgressTracker tracker = Install(new ProgressTracker(4, 0), new Changer(new ProgressTracker(4, 0), 1).Simple(P("v1")));

        (TrackerConfig cfg, ProgressMap progress) = new Changer(tracker, 2).EnterJoint(true, P("v2"));
        progress[1].MaybeUpdate(3);
        cfg.Voters.Incoming.Add(7);

        Assert.Equal(0UL, tracker.Progress[1].Match);
        Assert.Equal("voters=(1)", tracker.Config.ToString());
    }

    [Fact]
    public void Changer_TrackerViolatesInvariants_Refuses()
    {
        var tracker = new ProgressTracker(4, 0);
        tracker.Config.Voters.Incoming.Add(1); // no progress for 1

        ConfChangeException e = Assert.Throws<ConfChangeException>(() => new Changer(tracker, 1).Simple(P("v2")));

        Assert.Equal("no progress for 1", e.Message);
    }

    [Fact]
    public void Changer_OrphanProgress_Refuses()
    {
        var tracker = new ProgressTracker(4, 0);
        Install(tracker, new Changer(tracker, 1).Simple(P("v1")));
        tracker.Progress.Add(5, new Progress(4, 0));

        ConfChangeException e = Assert.Throws<ConfChangeException>(() => new Changer(tracker, 1).Simple(P("v2")));

        Assert.Equal("5 has a progress but is neither voter nor learner", e.Message);
    }

    [Fact]
    public void Restore_NonEmptyChanger_Throws()
    {
        ProgressTracker tracker = Install(new ProgressTracker(4, 0), new Changer(new ProgressTracker(4, 0), 1).Simple(P("v1")));
        var cs = new ConfState { Voters = { 2 } };

        Assert.Throws<ArgumentException>(() => ConfChangeRestore.Restore(new Changer(tracker, 1), cs));
    }
}
