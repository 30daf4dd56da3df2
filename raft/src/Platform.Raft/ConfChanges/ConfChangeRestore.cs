using Platform.Raft.Tracker;

namespace Platform.Raft.ConfChanges;

/// <summary>Rebuilds a configuration from a <see cref="ConfState"/> (a snapshot's, or the bootstrap one).</summary>
internal static class ConfChangeRestore
{
    /// <summary>
    /// Replays the changes that lead from <paramref name="changer"/>'s configuration (normally
    /// empty) to <paramref name="cs"/>. Not joint: each voter and learner is added with a simple
    /// change. Joint: the outgoing voters are added one by one, then one joint change removes
    /// them, adds the incoming voters and the learners, and demotes the learners-next (which, as
    /// outgoing voters, are staged in <c>LearnersNext</c>); <c>auto_leave</c> is carried over.
    /// Whether a learner was already a learner before the joint configuration cannot be told
    /// from a ConfState, nor does it matter.
    /// </summary>
    /// <exception cref="ArgumentException">The changer's tracker is not empty.</exception>
    /// <exception cref="ConfChangeException">
    /// <paramref name="cs"/> is inconsistent: a learner is also a voter, learners_next are not
    /// outgoing voters (or are incoming voters or learners), or auto_leave is set without an
    /// outgoing configuration. etcd would silently turn such a ConfState into a different
    /// configuration (e.g. demote the voter); a snapshot carrying one is corrupt.
    /// </exception>
    public static (TrackerConfig Config, ProgressMap Progress) Restore(Changer changer, ConfState cs)
    {
        ArgumentNullException.ThrowIfNull(changer);
        ArgumentNullException.ThrowIfNull(cs);
        if (changer.Tracker.Progress.Count > 0 || changer.Tracker.Config.Voters.Incoming.Count > 0
            || changer.Tracker.Config.Voters.Outgoing.Count > 0 || changer.Tracker.Config.Learners is { Count: > 0 })
        {
            throw new ArgumentException("restore needs a changer over an empty configuration", nameof(changer));
        }

        Validate(cs);

        // Each step needs the previous step's result as its input; the caller's tracker is left alone.
        var scratch = new ProgressTracker(changer.Tracker.MaxInflight, changer.Tracker.MaxInflightBytes)
        {
            Config = changer.Tracker.Config.Clone(),
            Progress = changer.Tracker.Progress.Clone(),
        };
        var step = new Changer(scratch, changer.LastIndex);

        var incoming = new List<ConfChangeSingle>();
        if (cs.VotersOutgoing.Count > 0)
        {
            foreach (ulong id in cs.VotersOutgoing)
            {
                Install(scratch, step.Simple(Single(ConfChangeType.ConfChangeAddNode, id)));
                incoming.Add(Single(ConfChangeType.ConfChangeRemoveNode, id));
            }
        }

        incoming.AddRange(cs.Voters.Select(id => Single(ConfChangeType.ConfChangeAddNode, id)));
        incoming.AddRange(cs.Learners.Select(id => Single(ConfChangeType.ConfChangeAddLearnerNode, id)));
        incoming.AddRange(cs.LearnersNext.Select(id => Single(ConfChangeType.ConfChangeAddLearnerNode, id)));

        if (cs.VotersOutgoing.Count > 0)
        {
            Install(scratch, step.EnterJoint(cs.AutoLeave, incoming));
        }
        else
        {
            foreach (ConfChangeSingle cc in incoming)
            {
                Install(scratch, step.Simple(cc));
            }
        }

        return (scratch.Config, scratch.Progress);
    }

    private static void Validate(ConfState cs)
    {
        var voters = new HashSet<ulong>(cs.Voters);
        var outgoing = new HashSet<ulong>(cs.VotersOutgoing);
        var learners = new HashSet<ulong>(cs.Learners);
        foreach (ulong id in learners)
        {
            if (voters.Contains(id) || outgoing.Contains(id))
            {
                throw new ConfChangeException($"invalid ConfState: {id} is both voter and learner");
            }
        }

        foreach (ulong id in cs.LearnersNext)
        {
            if (!outgoing.Contains(id) || voters.Contains(id) || learners.Contains(id))
            {
                throw new ConfChangeException($"invalid ConfState: learner-next {id} must be an outgoing voter only");
            }
        }

        if (cs.AutoLeave && outgoing.Count == 0)
        {
            throw new ConfChangeException("invalid ConfState: auto_leave without a joint configuration");
        }
    }

    private static void Install(ProgressTracker tracker, (TrackerConfig Config, ProgressMap Progress) result)
    {
        tracker.Config = result.Config;
        tracker.Progress = result.Progress;
    }

    private static ConfChangeSingle Single(ConfChangeType type, ulong id) => new() { Type = type, NodeId = id };
}
