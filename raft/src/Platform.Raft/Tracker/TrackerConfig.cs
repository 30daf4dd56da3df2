using System.Text;
using Platform.Raft.Quorum;

namespace Platform.Raft.Tracker;

/// <summary>
/// The active membership: voters (possibly a joint configuration), learners, and learners to
/// be, plus whether a joint configuration is left automatically.
/// </summary>
/// <remarks>
/// Invariants (checked by the conf-change <c>Changer</c>):
/// <list type="bullet">
/// <item>Learners and voters (of either half) never intersect, so every member has one role.</item>
/// <item><see cref="LearnersNext"/> holds voters of the outgoing half that are being demoted: they
/// cannot be learners while they still vote, so they become learners when the joint
/// configuration is left. It is null unless joint.</item>
/// <item><see cref="AutoLeave"/> is false unless joint.</item>
/// <item><see cref="Learners"/> and <see cref="LearnersNext"/> are null rather than empty (as
/// etcd's nil maps), which <see cref="ToString"/> reflects.</item>
/// </list>
/// </remarks>
internal sealed class TrackerConfig
{
    /// <summary>An empty, non-joint configuration.</summary>
    public TrackerConfig()
        : this(new JointConfig())
    {
    }

    /// <summary>Takes ownership of <paramref name="voters"/>.</summary>
    public TrackerConfig(JointConfig voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        Voters = voters;
    }

    public JointConfig Voters { get; }

    /// <summary>Non-voting members; null when there are none.</summary>
    public HashSet<ulong>? Learners { get; set; }

    /// <summary>Outgoing voters that become learners when the joint configuration is left; null when none.</summary>
    public HashSet<ulong>? LearnersNext { get; set; }

    /// <summary>
    /// True if the configuration is joint and the leader should propose leaving it as soon as it
    /// is committed; false if the application leaves it explicitly.
    /// </summary>
    public bool AutoLeave { get; set; }

    /// <summary>A deep copy sharing nothing with this configuration.</summary>
    public TrackerConfig Clone() => new(Voters.Clone())
    {
        Learners = Learners is null ? null : [.. Learners],
        LearnersNext = LearnersNext is null ? null : [.. LearnersNext],
        AutoLeave = AutoLeave,
    };

    /// <summary>etcd's form: <c>voters=(1 2)&amp;&amp;(1) learners=(3) learners_next=(4) autoleave</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("voters=").Append(Voters);
        if (Learners is not null)
        {
            sb.Append(" learners=").Append(MajorityConfig.Format(Learners.Order()));
        }

        if (LearnersNext is not null)
        {
            sb.Append(" learners_next=").Append(MajorityConfig.Format(LearnersNext.Order()));
        }

        if (AutoLeave)
        {
            sb.Append(" autoleave");
        }

        return sb.ToString();
    }
}
