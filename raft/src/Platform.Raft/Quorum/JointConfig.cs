using VoteOutcome = Platform.Raft.Quorum.VoteResult;

namespace Platform.Raft.Quorum;

/// <summary>
/// Two majority configurations that must both agree: the incoming one (C_new in the Raft thesis,
/// §4.3) and the outgoing one (C_old), which is empty unless a joint configuration change is in
/// progress. The halves may overlap.
/// </summary>
internal sealed class JointConfig
{
    /// <summary>Creates a non-joint configuration with no voters.</summary>
    public JointConfig()
        : this(new MajorityConfig(), new MajorityConfig())
    {
    }

    /// <summary>Takes ownership of both halves (they are not copied).</summary>
    public JointConfig(MajorityConfig incoming, MajorityConfig outgoing)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        ArgumentNullException.ThrowIfNull(outgoing);
        Incoming = incoming;
        Outgoing = outgoing;
    }

    /// <summary>The voters of the configuration being entered (the only one when not joint).</summary>
    public MajorityConfig Incoming { get; }

    /// <summary>The voters of the configuration being left; empty when not joint.</summary>
    public MajorityConfig Outgoing { get; }

    /// <summary>True while both halves decide, i.e. the outgoing half is not empty.</summary>
    public bool IsJoint => Outgoing.Count > 0;

    /// <summary>Whether <paramref name="id"/> votes in either half.</summary>
    public bool Contains(ulong id) => Incoming.Contains(id) || Outgoing.Contains(id);

    /// <summary>The voters of both halves (a fresh set).</summary>
    public IReadOnlySet<ulong> Ids()
    {
        var ids = new HashSet<ulong>(Incoming);
        ids.UnionWith(Outgoing);
        return ids;
    }

    /// <summary>A deep copy.</summary>
    public JointConfig Clone() => new(Incoming.Clone(), Outgoing.Clone());

    /// <summary>
    /// The largest index committed in both halves: the smaller of the two majority commit
    /// indexes. An empty half contributes <see cref="ulong.MaxValue"/>, so it does not constrain.
    /// </summary>
    public ulong CommittedIndex(IAckedIndexer l) => Math.Min(Incoming.CommittedIndex(l), Outgoing.CommittedIndex(l));

    /// <summary>Won when both halves won; lost when either lost; pending otherwise.</summary>
    public VoteResult VoteResult(IReadOnlyDictionary<ulong, bool> votes)
    {
        VoteResult incoming = Incoming.VoteResult(votes);
        VoteResult outgoing = Outgoing.VoteResult(votes);
        if (incoming == VoteOutcome.Lost || outgoing == VoteOutcome.Lost)
        {
            return VoteOutcome.Lost;
        }

        return incoming == VoteOutcome.Won && outgoing == VoteOutcome.Won ? VoteOutcome.Won : VoteOutcome.Pending;
    }

    /// <summary>The acked-index bar chart of the union of both halves (see <see cref="MajorityConfig.Describe"/>).</summary>
    public string Describe(IAckedIndexer l) => new MajorityConfig(Ids()).Describe(l);

    /// <summary><c>(1 2 3)&amp;&amp;(1 2 4)</c> when joint, <c>(1 2 3)</c> otherwise.</summary>
    public override string ToString() => IsJoint ? $"{Incoming}&&{Outgoing}" : Incoming.ToString();
}
