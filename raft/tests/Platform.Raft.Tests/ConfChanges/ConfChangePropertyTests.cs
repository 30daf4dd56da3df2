using CsCheck;
using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft.Tests.ConfChanges;

/// <summary>Random sequences of configuration changes keep the tracker's invariants.</summary>
public class ConfChangePropertyTests
{
    private const int MaxInflight = 4;

    private enum OpKind
    {
        Simple,
        EnterJoint,
        LeaveJoint,
    }

    private sealed record Op(OpKind Kind, bool AutoLeave, ConfChangeSingle[] Changes)
    {
        public override string ToString() => $"{Kind}{(AutoLeave ? "(autoleave)" : string.Empty)} [{Changes.FormatConfChanges()}]";
    }

    private static Gen<ConfChangeSingle> Change(int minId, int maxId) =>
        Gen.Select(Gen.Enum<ConfChangeType>(), Gen.Int[minId, maxId], (type, id) => new ConfChangeSingle { Type = type, NodeId = (ulong)id });

    // Ids 0..6: 0 exercises the skip rule, few ids make collisions (promote, demote, re-add) common.
    private static readonly Gen<Op> s_op = Gen.Select(
        Gen.Enum<OpKind>(), Gen.Bool, Change(0, 6).Array[0, 4], (kind, autoLeave, changes) => new Op(kind, autoLeave, changes));

    private static readonly HashSet<string> s_refusals =
    [
        "config is already joint",
        "can't make a zero-voter config joint",
        "can't leave a non-joint config",
        "can't apply simple config change in joint config",
        "more than one voter changed without entering joint config",
        "removed all voters",
    ];

    [Fact]
    public void Changer_RandomOperations_KeepInvariantsAndRestoreFromConfState() =>
        s_op.Array[1, 30].Sample(ops =>
        {
            var tracker = new ProgressTracker(MaxInflight, 0);
            Install(tracker, new Changer(tracker, 0).Simple(Single(ConfChangeType.ConfChangeAddNode, 1)));
            ulong lastIndex = 1;
            foreach (Op op in ops)
            {
                lastIndex++;
                var changer = new Changer(tracker, lastIndex);
                string before = Describe(tracker);
                (TrackerConfig Config, ProgressMap Progress) result;
                try
                {
                    result = op.Kind switch
                    {
                        OpKind.Simple => changer.Simple(op.Changes),
                        OpKind.EnterJoint => changer.EnterJoint(op.AutoLeave, op.Changes),
                        _ => changer.LeaveJoint(),
                    };
                }
                catch (ConfChangeException e)
                {
                    // A refusal must be a validation of the request, never a broken invariant
                    // (which the Changer also reports as a ConfChangeException).
                    Assert.Contains(e.Message, s_refusals);
                    Assert.Equal(before, Describe(tracker));
                    continue;
                }

                Assert.Equal(before, Describe(tracker));
                AssertInvariants(result.Config, result.Progress);
                Install(tracker, result);

                (TrackerConfig restored, ProgressMap restoredProgress) = ConfChangeRestore.Restore(
                    new Changer(new ProgressTracker(MaxInflight, 0), lastIndex), tracker.ConfState());
                Assert.Equal(result.Config.ToString(), restored.ToString());
                Assert.Equal(result.Progress.Keys, restoredProgress.Keys);
                AssertInvariants(restored, restoredProgress);
            }
        }, iter: 2000, print: ops => string.Join("; ", ops.Select(o => o.ToString())));

    /// <summary>
    /// etcd's quick test: applying changes one simple change at a time, or all at once through a
    /// joint configuration, ends in the same configuration and progress (node 1 is never
    /// touched, so the simple path cannot remove every voter).
    /// </summary>
    [Fact]
    public void SimpleSteps_VersusJointRoundTrip_SameResult() =>
        Gen.Select(Gen.Int[1, 5].Array[0, 5], Change(2, 10).Array[1, 9]).Sample((setupIds, changes) =>
        {
            ProgressTracker Setup()
            {
                var tracker = new ProgressTracker(MaxInflight, 0);
                foreach (int id in setupIds.Prepend(1))
                {
                    Install(tracker, new Changer(tracker, 10).Simple(Single(ConfChangeType.ConfChangeAddNode, (ulong)id)));
                }

                return tracker;
            }

            ProgressTracker simple = Setup();
            foreach (ConfChangeSingle cc in changes)
            {
                Install(simple, new Changer(simple, 10).Simple(cc));
            }

            ProgressTracker joint = Setup();
            (TrackerConfig autoConfig, ProgressMap autoProgress) = new Changer(joint, 10).EnterJoint(true, changes);
            Install(joint, new Changer(joint, 10).EnterJoint(false, changes));
            autoConfig.AutoLeave = false;
            Assert.Equal(Describe(joint), $"{autoConfig}\n{autoProgress}");
            Install(joint, new Changer(joint, 10).LeaveJoint());

            Assert.Equal(Describe(simple), Describe(joint));
        }, iter: 1000);

    [Fact]
    public void FormatConfChanges_ThenParse_RoundTrips() =>
        Gen.Select(Gen.Enum<ConfChangeType>(), Gen.ULong, (type, id) => new ConfChangeSingle { Type = type, NodeId = id }).Array[0, 8]
            .Sample(changes => Assert.Equal(changes, ConfChangeExtensions.ParseConfChanges(changes.FormatConfChanges())), iter: 1000);

    private static void AssertInvariants(TrackerConfig cfg, ProgressMap progress)
    {
        HashSet<ulong> incoming = [.. cfg.Voters.Incoming];
        HashSet<ulong> outgoing = [.. cfg.Voters.Outgoing];
        HashSet<ulong> learners = cfg.Learners ?? [];
        HashSet<ulong> learnersNext = cfg.LearnersNext ?? [];

        Assert.NotEmpty(incoming);
        Assert.Empty(learners.Intersect(incoming.Union(outgoing)));
        Assert.Subset(outgoing, learnersNext);
        Assert.Empty(learnersNext.Intersect(incoming));
        Assert.Empty(learnersNext.Intersect(learners));
        Assert.Equal(incoming.Union(outgoing).Union(learners).Order(), progress.Keys);
        foreach (KeyValuePair<ulong, Progress> kv in progress)
        {
            Assert.Equal(learners.Contains(kv.Key), kv.Value.IsLearner);
        }

        // Empty sets are represented as null, as etcd's nil maps.
        Assert.NotEqual(0, cfg.Learners?.Count ?? 1);
        Assert.NotEqual(0, cfg.LearnersNext?.Count ?? 1);
        if (outgoing.Count == 0)
        {
            Assert.Null(cfg.LearnersNext);
            Assert.False(cfg.AutoLeave);
        }
    }

    private static ConfChangeSingle Single(ConfChangeType type, ulong id) => new() { Type = type, NodeId = id };

    private static void Install(ProgressTracker tracker, (TrackerConfig Config, ProgressMap Progress) result)
    {
        tracker.Config = result.Config;
        tracker.Progress = result.Progress;
    }

    private static string Describe(ProgressTracker tracker) => $"{tracker.Config}\n{tracker.Progress}";
}
