using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft;

internal sealed partial class Raft
{
    /// <summary>Applies a committed configuration change (the application calls it when applying the entry).</summary>
    /// <exception cref="ConfChangeException">The change is invalid in the current configuration.</exception>
    public ConfState ApplyConfChange(ConfChangeV2 change)
    {
        var changer = new Changer(Tracker, Log.LastIndex());
        (TrackerConfig config, ProgressMap progress) result;
        if (change.LeavesJoint())
        {
            result = changer.LeaveJoint();
        }
        else if (change.TryEnterJoint(out bool autoLeave))
        {
            result = changer.EnterJoint(autoLeave, change.Changes);
        }
        else
        {
            result = changer.Simple(change.Changes);
        }

        return SwitchToConfig(result.config, result.progress);
    }

    /// <summary>
    /// Makes <paramref name="config"/> current, with its progress map, and reacts: a removed or
    /// demoted leader steps down (if so configured); a leader recomputes its commit index (the
    /// quorum changed) and probes new peers at once.
    /// </summary>
    private ConfState SwitchToConfig(TrackerConfig config, ProgressMap progress)
    {
        Tracker.Config = config;
        Tracker.Progress = progress;
        _logger.Info($"{Id:x} switched to configuration {Tracker.Config}");
        ConfState confState = Tracker.ConfState();
        bool isMember = Tracker.Progress.TryGetValue(Id, out Progress? self);
        IsLearner = isMember && self!.IsLearner;

        if ((!isMember || IsLearner) && State == StateType.Leader)
        {
            // Removed or demoted while leader. (Handing over to the most caught-up follower with
            // MsgTimeoutNow would avoid an election; etcd does not do that yet either.)
            if (_stepDownOnRemoval)
            {
                BecomeFollower(Term, RaftConstants.None);
            }

            return confState;
        }

        // The rest only matters to a leader with peers.
        if (State != StateType.Leader || confState.Voters.Count == 0)
        {
            return confState;
        }

        if (MaybeCommit())
        {
            // The new quorum commits more: tell everyone in the new configuration.
            BroadcastAppend();
        }
        else
        {
            // Still probe newly added peers rather than letting them wait for a heartbeat or the
            // next proposal.
            foreach (KeyValuePair<ulong, Progress> entry in Tracker.Progress)
            {
                if (entry.Key != Id)
                {
                    MaybeSendAppend(entry.Key, sendIfEmpty: false);
                }
            }
        }

        // A transfer to a node that is no longer a voter cannot complete.
        if (LeadTransferee != RaftConstants.None && !Tracker.Config.Voters.Contains(LeadTransferee))
        {
            AbortLeaderTransfer();
        }

        return confState;
    }

    private static void AssertConfStatesEquivalent(ConfState expected, ConfState actual)
    {
        if (!SameSet(expected.Voters, actual.Voters) || !SameSet(expected.Learners, actual.Learners)
            || !SameSet(expected.VotersOutgoing, actual.VotersOutgoing) || !SameSet(expected.LearnersNext, actual.LearnersNext)
            || expected.AutoLeave != actual.AutoLeave)
        {
            throw new InvalidOperationException(
                $"ConfStates not equivalent after sorting:\n{RaftDescribe.DescribeConfState(expected)}\n{RaftDescribe.DescribeConfState(actual)}\nInputs were:\n{expected}\n{actual}");
        }
    }

    private static bool SameSet(IEnumerable<ulong> a, IEnumerable<ulong> b) => new HashSet<ulong>(a).SetEquals(b);
}
