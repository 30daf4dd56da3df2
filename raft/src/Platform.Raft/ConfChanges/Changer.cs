using Platform.Raft.Quorum;
using Platform.Raft.Tracker;

namespace Platform.Raft.ConfChanges;

/// <summary>
/// Computes the configuration and progress map that result from configuration changes, checking
/// them before they can affect the active configuration. Works on copies: the tracker is never
/// mutated; the caller installs the result (<c>tracker.Config</c>, <c>tracker.Progress</c>).
/// </summary>
/// <remarks>
/// Changes to voters always apply to the incoming half; the outgoing half only ever holds a copy
/// of the configuration that was active when the joint configuration was entered. A change
/// whose node id is 0 is skipped: etcd zeroes the id of a change it decided not to apply.
/// Every result, and the tracker's state on entry, satisfies the <see cref="TrackerConfig"/>
/// invariants and, in addition, tracks a progress for exactly the members of the configuration.
/// </remarks>
/// <param name="tracker">The active configuration and progress; read, never changed.</param>
/// <param name="lastIndex">The leader's last log index: new members are probed from there.</param>
internal sealed class Changer(ProgressTracker tracker, ulong lastIndex)
{
    public ProgressTracker Tracker { get; } = tracker ?? throw new ArgumentNullException(nameof(tracker));

    public ulong LastIndex { get; } = lastIndex;

    /// <summary>
    /// Enters a joint configuration: the outgoing half becomes a copy of the incoming one, then
    /// <paramref name="changes"/> apply to the incoming half (C_old → C_new,old in the Raft
    /// thesis, §4.3). Voters being demoted to learners wait in <c>LearnersNext</c> until the
    /// joint configuration is left.
    /// </summary>
    /// <param name="autoLeave">Whether the leader leaves the joint configuration on its own once it is committed.</param>
    /// <param name="changes">Applied in order to the incoming half.</param>
    /// <exception cref="ConfChangeException">The configuration is already joint or has no voters, or the changes remove every incoming voter.</exception>
    public (TrackerConfig Config, ProgressMap Progress) EnterJoint(bool autoLeave, params IReadOnlyList<ConfChangeSingle> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        (TrackerConfig cfg, ProgressMap progress) = CheckAndCopy();
        if (cfg.Voters.IsJoint)
        {
            throw new ConfChangeException("config is already joint");
        }

        if (cfg.Voters.Incoming.Count == 0)
        {
            // Adding voters to an empty configuration is allowed (bootstrap, tests) but only one
            // at a time: there is no old configuration to be joint with.
            throw new ConfChangeException("can't make a zero-voter config joint");
        }

        foreach (ulong id in cfg.Voters.Incoming)
        {
            cfg.Voters.Outgoing.Add(id);
        }

        Apply(cfg, progress, changes);
        cfg.AutoLeave = autoLeave;
        return CheckAndReturn(cfg, progress);
    }

    /// <summary>
    /// Leaves a joint configuration (C_new,old → C_new): the outgoing half is dropped, staged
    /// learners (<c>LearnersNext</c>) become learners keeping their progress, and members that
    /// were only outgoing voters stop being tracked.
    /// </summary>
    /// <exception cref="ConfChangeException">The configuration is not joint.</exception>
    public (TrackerConfig Config, ProgressMap Progress) LeaveJoint()
    {
        (TrackerConfig cfg, ProgressMap progress) = CheckAndCopy();
        if (!cfg.Voters.IsJoint)
        {
            throw new ConfChangeException("can't leave a non-joint config");
        }

        if (cfg.LearnersNext is not null)
        {
            foreach (ulong id in cfg.LearnersNext)
            {
                (cfg.Learners ??= []).Add(id);
                progress[id].IsLearner = true;
            }

            cfg.LearnersNext = null;
        }

        foreach (ulong id in cfg.Voters.Outgoing)
        {
            if (!cfg.Voters.Incoming.Contains(id) && cfg.Learners?.Contains(id) != true)
            {
                progress.Remove(id);
            }
        }

        cfg.Voters.Outgoing.Clear();
        cfg.AutoLeave = false;
        return CheckAndReturn(cfg, progress);
    }

    /// <summary>
    /// Applies <paramref name="changes"/> without joint consensus. Safe only because, in
    /// aggregate, they change the voter set by at most one member (a learner may be added,
    /// removed or promoted along with it).
    /// </summary>
    /// <exception cref="ConfChangeException">The configuration is joint, more than one voter changes, or no voter remains.</exception>
    public (TrackerConfig Config, ProgressMap Progress) Simple(params IReadOnlyList<ConfChangeSingle> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        (TrackerConfig cfg, ProgressMap progress) = CheckAndCopy();
        if (cfg.Voters.IsJoint)
        {
            throw new ConfChangeException("can't apply simple config change in joint config");
        }

        Apply(cfg, progress, changes);
        if (SymmetricDifference(Tracker.Config.Voters.Incoming, cfg.Voters.Incoming) > 1)
        {
            throw new ConfChangeException("more than one voter changed without entering joint config");
        }

        return CheckAndReturn(cfg, progress);
    }

    private void Apply(TrackerConfig cfg, ProgressMap progress, IReadOnlyList<ConfChangeSingle> changes)
    {
        foreach (ConfChangeSingle cc in changes)
        {
            if (cc.NodeId == 0)
            {
                continue;
            }

            switch (cc.Type)
            {
                case ConfChangeType.ConfChangeAddNode:
                    MakeVoter(cfg, progress, cc.NodeId);
                    break;
                case ConfChangeType.ConfChangeAddLearnerNode:
                    MakeLearner(cfg, progress, cc.NodeId);
                    break;
                case ConfChangeType.ConfChangeRemoveNode:
                    Remove(cfg, progress, cc.NodeId);
                    break;
                case ConfChangeType.ConfChangeUpdateNode:
                    // Raft has nothing to do: updates concern only the application (addresses).
                    break;
                default:
                    throw new ConfChangeException($"unexpected conf type {(int)cc.Type}");
            }
        }

        if (cfg.Voters.Incoming.Count == 0)
        {
            throw new ConfChangeException("removed all voters");
        }
    }

    /// <summary>Adds <paramref name="id"/> as an incoming voter, promoting it if it is a (staged) learner.</summary>
    private void MakeVoter(TrackerConfig cfg, ProgressMap progress, ulong id)
    {
        if (!progress.TryGetValue(id, out Progress? pr))
        {
            InitProgress(cfg, progress, id, isLearner: false);
            return;
        }

        pr.IsLearner = false;
        cfg.Learners = Without(cfg.Learners, id);
        cfg.LearnersNext = Without(cfg.LearnersNext, id);
        cfg.Voters.Incoming.Add(id);
    }

    /// <summary>
    /// Makes <paramref name="id"/> a learner, or stages it in <c>LearnersNext</c> when it is
    /// still an outgoing voter: a member cannot be voter and learner at once, so the demotion
    /// completes when the joint configuration is left. The progress is kept either way.
    /// </summary>
    private void MakeLearner(TrackerConfig cfg, ProgressMap progress, ulong id)
    {
        if (!progress.TryGetValue(id, out Progress? pr))
        {
            InitProgress(cfg, progress, id, isLearner: true);
            return;
        }

        if (pr.IsLearner)
        {
            return;
        }

        Remove(cfg, progress, id);
        progress[id] = pr;
        if (cfg.Voters.Outgoing.Contains(id))
        {
            (cfg.LearnersNext ??= []).Add(id);
        }
        else
        {
            pr.IsLearner = true;
            (cfg.Learners ??= []).Add(id);
        }
    }

    /// <summary>Removes <paramref name="id"/> from the incoming half and the learners; keeps its progress while it is an outgoing voter.</summary>
    private static void Remove(TrackerConfig cfg, ProgressMap progress, ulong id)
    {
        if (!progress.ContainsKey(id))
        {
            return;
        }

        cfg.Voters.Incoming.Remove(id);
        cfg.Learners = Without(cfg.Learners, id);
        cfg.LearnersNext = Without(cfg.LearnersNext, id);
        if (!cfg.Voters.Outgoing.Contains(id))
        {
            progress.Remove(id);
        }
    }

    private void InitProgress(TrackerConfig cfg, ProgressMap progress, ulong id, bool isLearner)
    {
        if (isLearner)
        {
            (cfg.Learners ??= []).Add(id);
        }
        else
        {
            cfg.Voters.Incoming.Add(id);
        }

        progress.Add(id, new Progress(Tracker.MaxInflight, Tracker.MaxInflightBytes)
        {
            // Probing from the last index is optimistic (a new member usually has no log and will
            // need a snapshot) but cheap: the first rejection moves Next down. Max keeps Match < Next.
            Match = 0,
            Next = Math.Max(LastIndex, 1),
            IsLearner = isLearner,
            // A new member counts as active, or CheckQuorum could depose the leader before the
            // member had a chance to answer.
            RecentActive = true,
        });
    }

    /// <summary>Removes <paramref name="id"/> from a nullable set; an emptied set becomes null.</summary>
    private static HashSet<ulong>? Without(HashSet<ulong>? set, ulong id)
    {
        set?.Remove(id);
        return set is { Count: 0 } ? null : set;
    }

    private (TrackerConfig Config, ProgressMap Progress) CheckAndCopy() =>
        CheckAndReturn(Tracker.Config.Clone(), Tracker.Progress.Clone());

    private static (TrackerConfig Config, ProgressMap Progress) CheckAndReturn(TrackerConfig cfg, ProgressMap progress)
    {
        CheckInvariants(cfg, progress);
        return (cfg, progress);
    }

    /// <summary>
    /// Checks that <paramref name="cfg"/> and <paramref name="progress"/> agree. The empty
    /// configuration is allowed, so that an initial configuration can be built change by change.
    /// </summary>
    /// <exception cref="ConfChangeException">An invariant is violated.</exception>
    internal static void CheckInvariants(TrackerConfig cfg, ProgressMap progress)
    {
        JointConfig voters = cfg.Voters;
        foreach (ulong id in voters.Incoming)
        {
            RequireProgress(progress, id);
        }

        foreach (ulong id in voters.Outgoing)
        {
            RequireProgress(progress, id);
        }

        foreach (ulong id in cfg.Learners ?? [])
        {
            RequireProgress(progress, id);
        }

        foreach (ulong id in cfg.LearnersNext ?? [])
        {
            RequireProgress(progress, id);
        }

        // A staged learner was staged because it is still an outgoing voter.
        foreach (ulong id in cfg.LearnersNext ?? [])
        {
            if (!voters.Outgoing.Contains(id))
            {
                throw new ConfChangeException($"{id} is in LearnersNext, but not Voters[1]");
            }

            if (progress[id].IsLearner)
            {
                throw new ConfChangeException($"{id} is in LearnersNext, but is already marked as learner");
            }
        }

        // Learners and voters never intersect.
        foreach (ulong id in cfg.Learners ?? [])
        {
            if (voters.Outgoing.Contains(id))
            {
                throw new ConfChangeException($"{id} is in Learners and Voters[1]");
            }

            if (voters.Incoming.Contains(id))
            {
                throw new ConfChangeException($"{id} is in Learners and Voters[0]");
            }

            if (!progress[id].IsLearner)
            {
                throw new ConfChangeException($"{id} is in Learners, but is not marked as learner");
            }
        }

        // Stricter than etcd: a progress without a role would be replicated to forever.
        foreach (KeyValuePair<ulong, Progress> kv in progress)
        {
            if (!voters.Contains(kv.Key) && cfg.Learners?.Contains(kv.Key) != true)
            {
                throw new ConfChangeException($"{kv.Key} has a progress but is neither voter nor learner");
            }

            if (kv.Value.IsLearner && cfg.Learners?.Contains(kv.Key) != true)
            {
                throw new ConfChangeException($"{kv.Key} is marked as learner, but is not in Learners");
            }
        }

        if (!voters.IsJoint)
        {
            if (cfg.LearnersNext is not null)
            {
                throw new ConfChangeException("cfg.LearnersNext must be nil when not joint");
            }

            if (cfg.AutoLeave)
            {
                throw new ConfChangeException("AutoLeave must be false when not joint");
            }
        }
    }

    private static void RequireProgress(ProgressMap progress, ulong id)
    {
        if (!progress.ContainsKey(id))
        {
            throw new ConfChangeException($"no progress for {id}");
        }
    }

    /// <summary>|a \ b| + |b \ a|.</summary>
    private static int SymmetricDifference(MajorityConfig a, MajorityConfig b)
    {
        int n = 0;
        foreach (ulong id in a)
        {
            if (!b.Contains(id))
            {
                n++;
            }
        }

        foreach (ulong id in b)
        {
            if (!a.Contains(id))
            {
                n++;
            }
        }

        return n;
    }
}
