using Platform.Raft.Quorum;

namespace Platform.Raft.Tracker;

/// <summary>
/// The leader's (or candidate's) view of the group: the active configuration, each member's
/// replication progress, and the votes of the current election.
/// </summary>
/// <remarks>
/// <see cref="Config"/> and <see cref="Progress"/> are replaced together with the results of a
/// conf-change <c>Changer</c>, which never mutates the tracker itself. Not thread-safe.
/// </remarks>
internal sealed class ProgressTracker
{
    /// <param name="maxInflight">Inflight window per follower, in messages; at least 1.</param>
    /// <param name="maxInflightBytes">Inflight window per follower, in bytes; 0 for no limit.</param>
    public ProgressTracker(int maxInflight, ulong maxInflightBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInflight, 1);
        MaxInflight = maxInflight;
        MaxInflightBytes = maxInflightBytes;
    }

    /// <summary>Inflight window of new progresses, in messages.</summary>
    public int MaxInflight { get; }

    /// <summary>Inflight window of new progresses, in bytes; 0 means unlimited.</summary>
    public ulong MaxInflightBytes { get; }

    public TrackerConfig Config { get; set; } = new();

    public ProgressMap Progress { get; set; } = new();

    /// <summary>Votes received in the current election: id → granted.</summary>
    public Dictionary<ulong, bool> Votes { get; } = [];

    /// <summary>The active configuration as persisted in snapshots (all lists ascending).</summary>
    public ConfState ConfState()
    {
        var cs = new ConfState { AutoLeave = Config.AutoLeave };
        cs.Voters.AddRange(Config.Voters.Incoming.Sorted());
        cs.VotersOutgoing.AddRange(Config.Voters.Outgoing.Sorted());
        if (Config.Learners is not null)
        {
            cs.Learners.AddRange(Config.Learners.Order());
        }

        if (Config.LearnersNext is not null)
        {
            cs.LearnersNext.AddRange(Config.LearnersNext.Order());
        }

        return cs;
    }

    /// <summary>True if and only if there is exactly one voter and the configuration is not joint.</summary>
    public bool IsSingleton() => Config.Voters.Incoming.Count == 1 && Config.Voters.Outgoing.Count == 0;

    /// <summary>The largest index acknowledged (Match) by a quorum of the voters.</summary>
    public ulong Committed() => Config.Voters.CommittedIndex(Progress);

    /// <summary>Calls <paramref name="f"/> for every member, in ascending id order.</summary>
    public void Visit(Action<ulong, Progress> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        foreach (KeyValuePair<ulong, Progress> kv in Progress)
        {
            f(kv.Key, kv.Value);
        }
    }

    /// <summary>
    /// Whether a quorum of voters was recently active. The caller is responsible for marking the
    /// leader's own progress active first.
    /// </summary>
    public bool QuorumActive()
    {
        var active = new Dictionary<ulong, bool>(Progress.Count);
        foreach (KeyValuePair<ulong, Progress> kv in Progress)
        {
            if (!kv.Value.IsLearner)
            {
                active[kv.Key] = kv.Value.RecentActive;
            }
        }

        return Config.Voters.VoteResult(active) == VoteResult.Won;
    }

    /// <summary>The voters of both halves, ascending.</summary>
    public IReadOnlyList<ulong> VoterNodes() => [.. Config.Voters.Ids().Order()];

    /// <summary>The learners, ascending; empty when none.</summary>
    public IReadOnlyList<ulong> LearnerNodes() => Config.Learners is null ? [] : [.. Config.Learners.Order()];

    /// <summary>Forgets the votes of the previous election.</summary>
    public void ResetVotes() => Votes.Clear();

    /// <summary>Records the vote of <paramref name="id"/>; a later vote from the same id is ignored.</summary>
    public void RecordVote(ulong id, bool granted) => Votes.TryAdd(id, granted);

    /// <summary>
    /// Counts the granted and rejected votes of current voters (informational; votes of ids no
    /// longer tracked or of learners are not counted) and the election outcome.
    /// </summary>
    public (int Granted, int Rejected, VoteResult Result) TallyVotes()
    {
        int granted = 0;
        int rejected = 0;
        foreach (KeyValuePair<ulong, Progress> kv in Progress)
        {
            if (kv.Value.IsLearner || !Votes.TryGetValue(kv.Key, out bool vote))
            {
                continue;
            }

            if (vote)
            {
                granted++;
            }
            else
            {
                rejected++;
            }
        }

        return (granted, rejected, Config.Voters.VoteResult(Votes));
    }
}
