using System.Globalization;
using System.Text;

namespace Platform.Raft.ConfChanges;

/// <summary>
/// Helpers over the configuration-change messages: V1 to V2 conversion, what a V2 change asks
/// of joint consensus, and the compact text form <c>v1 l2 r3 u4</c> used by scenario files.
/// </summary>
public static class ConfChangeExtensions
{
    /// <summary>The equivalent V2 change: one single change, automatic transition, same context.</summary>
    public static ConfChangeV2 AsV2(this ConfChange cc)
    {
        ArgumentNullException.ThrowIfNull(cc);
        return new ConfChangeV2
        {
            Transition = ConfChangeTransition.Auto,
            Changes = { new ConfChangeSingle { Type = cc.Type, NodeId = cc.NodeId } },
            Context = cc.Context,
        };
    }

    /// <summary>
    /// Whether applying <paramref name="cc"/> enters a joint configuration: it does unless the
    /// transition is <see cref="ConfChangeTransition.Auto"/> and there is at most one change
    /// (which a simple change handles). <paramref name="autoLeave"/> tells whether the leader then
    /// leaves the joint configuration by itself: true for Auto and JointImplicit, false for
    /// JointExplicit (the application proposes an empty change to leave).
    /// </summary>
    /// <exception cref="ArgumentException">The transition is not a known value.</exception>
    public static bool TryEnterJoint(this ConfChangeV2 cc, out bool autoLeave)
    {
        ArgumentNullException.ThrowIfNull(cc);
        autoLeave = false;
        if (cc.Transition == ConfChangeTransition.Auto && cc.Changes.Count <= 1)
        {
            return false;
        }

        autoLeave = cc.Transition switch
        {
            ConfChangeTransition.Auto or ConfChangeTransition.JointImplicit => true,
            ConfChangeTransition.JointExplicit => false,
            _ => throw new ArgumentException($"unknown transition: {cc.Transition}", nameof(cc)),
        };
        return true;
    }

    /// <summary>
    /// Whether <paramref name="cc"/> is the change that leaves a joint configuration: no changes
    /// and the <see cref="ConfChangeTransition.Auto"/> transition (the context is not looked at).
    /// </summary>
    public static bool LeavesJoint(this ConfChangeV2 cc)
    {
        ArgumentNullException.ThrowIfNull(cc);
        return cc.Transition == ConfChangeTransition.Auto && cc.Changes.Count == 0;
    }

    /// <summary>
    /// Parses space-separated changes: <c>vN</c> adds voter N (or promotes it), <c>lN</c> adds
    /// learner N (or demotes it), <c>rN</c> removes N, <c>uN</c> updates N. Blank input gives no
    /// changes.
    /// </summary>
    /// <exception cref="FormatException">A token is not a letter among v, l, r, u followed by a node id.</exception>
    public static IReadOnlyList<ConfChangeSingle> ParseConfChanges(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var changes = new List<ConfChangeSingle>();
        foreach (string token in s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            ConfChangeType type = token[0] switch
            {
                'v' => ConfChangeType.ConfChangeAddNode,
                'l' => ConfChangeType.ConfChangeAddLearnerNode,
                'r' => ConfChangeType.ConfChangeRemoveNode,
                'u' => ConfChangeType.ConfChangeUpdateNode,
                _ => throw new FormatException($"unknown input: {token}"),
            };
            if (!ulong.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong id))
            {
                throw new FormatException($"invalid node id in {token}");
            }

            changes.Add(new ConfChangeSingle { Type = type, NodeId = id });
        }

        return changes;
    }

    /// <summary>The inverse of <see cref="ParseConfChanges"/>, e.g. <c>v1 l2 r3 u4</c>.</summary>
    /// <exception cref="ArgumentException">A change has a type outside the four known ones.</exception>
    public static string FormatConfChanges(this IEnumerable<ConfChangeSingle> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var sb = new StringBuilder();
        foreach (ConfChangeSingle cc in changes)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            char letter = cc.Type switch
            {
                ConfChangeType.ConfChangeAddNode => 'v',
                ConfChangeType.ConfChangeAddLearnerNode => 'l',
                ConfChangeType.ConfChangeRemoveNode => 'r',
                ConfChangeType.ConfChangeUpdateNode => 'u',
                _ => throw new ArgumentException($"unknown conf change type {(int)cc.Type}", nameof(changes)),
            };
            sb.Append(letter).Append(cc.NodeId);
        }

        return sb.ToString();
    }
}
