using System.Diagnostics;
using System.Text;

namespace Platform.Raft.Tracker;

/// <summary>
/// What the leader knows about one follower's log, and how it replicates to it (etcd-io/raft
/// v3.6 semantics; the state diagram is in etcd-io/raft design.md).
/// </summary>
/// <remarks>
/// Invariants: <c>Match &lt; Next</c> (so <c>Next ≥ 1</c>); <c>SentCommitIndex &lt; Next</c>
/// except transiently after <see cref="SentCommit"/>; in <see cref="ProgressState.Snapshot"/>,
/// <c>Next == PendingSnapshot + 1</c>. Owned by a <see cref="ProgressTracker"/>; not thread-safe.
/// </remarks>
internal sealed class Progress
{
    /// <summary>Creates a progress in <see cref="ProgressState.Probe"/> with the given inflight window.</summary>
    public Progress(Inflights inflights)
    {
        ArgumentNullException.ThrowIfNull(inflights);
        Inflights = inflights;
    }

    /// <summary>Creates a progress with an inflight window of <paramref name="maxInflight"/> messages and <paramref name="maxInflightBytes"/> bytes (0: no byte limit).</summary>
    public Progress(int maxInflight, ulong maxInflightBytes)
        : this(new Inflights(maxInflight, maxInflightBytes))
    {
    }

    /// <summary>The highest index known to match the leader's log.</summary>
    public ulong Match { get; set; }

    /// <summary>
    /// The index of the next entry to send. Entries in (Match, Next) are in flight.
    /// </summary>
    public ulong Next { get; set; }

    /// <summary>
    /// The highest commit index sent to the follower (etcd's <c>sentCommit</c>). Mostly
    /// monotonic; regresses with <c>Next</c> when the follower is probed again or rejects.
    /// Named with a suffix because <see cref="SentCommit"/> is the method that records it.
    /// </summary>
    public ulong SentCommitIndex { get; set; }

    /// <summary>How the leader currently replicates to this follower.</summary>
    public ProgressState State { get; set; }

    /// <summary>
    /// In <see cref="ProgressState.Snapshot"/>: the index of the snapshot sent. Replication resumes
    /// when an append response reconnects the follower to the log, whatever snapshot index it
    /// ends up applying (snapshots may be sent by other means than the leader).
    /// </summary>
    public ulong PendingSnapshot { get; set; }

    /// <summary>
    /// Whether the follower was heard from recently; reset by the leader each election timeout
    /// for CheckQuorum. New progresses start active, so adding a node cannot make the leader step
    /// down before the node could talk to it.
    /// </summary>
    public bool RecentActive { get; set; }

    /// <summary>
    /// The append flow is throttled: in Probe after a probe was sent, in Replicate when the
    /// inflight window is full. Cleared by a heartbeat response, an ack or a rejection.
    /// </summary>
    public bool MsgAppFlowPaused { get; set; }

    /// <summary>The window of unacknowledged append messages (used in Replicate).</summary>
    public Inflights Inflights { get; private set; }

    /// <summary>Whether this progress tracks a learner (non-voting member).</summary>
    public bool IsLearner { get; set; }

    /// <summary>Moves to <paramref name="state"/>, clearing the pause, the pending snapshot and the inflight window.</summary>
    public void ResetState(ProgressState state)
    {
        MsgAppFlowPaused = false;
        PendingSnapshot = 0;
        State = state;
        Inflights.Reset();
    }

    /// <summary>
    /// Moves to Probe. Next restarts at Match+1, or after the pending snapshot when leaving
    /// Snapshot (the snapshot was delivered, so probing can start past it).
    /// </summary>
    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            ulong pendingSnapshot = PendingSnapshot;
            ResetState(ProgressState.Probe);
            Next = Math.Max(Match + 1, pendingSnapshot + 1);
        }
        else
        {
            ResetState(ProgressState.Probe);
            Next = Match + 1;
        }

        SentCommitIndex = Math.Min(SentCommitIndex, Next - 1);
    }

    /// <summary>Moves to Replicate; Next restarts at Match+1.</summary>
    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    /// <summary>
    /// Moves to Snapshot for a snapshot at <paramref name="snapshotIndex"/>. The snapshot carries
    /// committed state, so it also counts as sending commit index <paramref name="snapshotIndex"/>.
    /// </summary>
    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
        Next = snapshotIndex + 1;
        SentCommitIndex = snapshotIndex;
    }

    /// <summary>
    /// Records an append of <paramref name="entries"/> consecutive entries starting at Next,
    /// <paramref name="bytes"/> bytes in total. In Replicate, Next moves past them, the message
    /// joins the inflight window and the flow pauses if the window is now full. In Probe, any
    /// non-empty append is a probe and pauses the flow until the follower answers.
    /// </summary>
    /// <exception cref="InvalidOperationException">In Snapshot, where nothing is appended.</exception>
    public void SentEntries(int entries, ulong bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(entries);
        switch (State)
        {
            case ProgressState.Replicate:
                if (entries > 0)
                {
                    Next += (ulong)entries;
                    Inflights.Add(Next - 1, bytes);
                }

                // A message that fills the window (or one sent into a full window) acts as a probe.
                MsgAppFlowPaused = Inflights.Full;
                break;
            case ProgressState.Probe:
                if (entries > 0)
                {
                    MsgAppFlowPaused = true;
                }

                break;
            default:
                throw new InvalidOperationException($"sending append in unhandled state {FormatState(State)}");
        }
    }

    /// <summary>
    /// Whether sending commit index <paramref name="index"/> could advance the follower's commit
    /// index: it is above what was sent, and what was sent does not already reach Next-1 (the
    /// most the follower can commit with what it has).
    /// </summary>
    public bool CanBumpCommit(ulong index) => index > SentCommitIndex && SentCommitIndex < Next - 1;

    /// <summary>Records that commit index <paramref name="commit"/> was sent to the follower.</summary>
    public void SentCommit(ulong commit) => SentCommitIndex = commit;

    /// <summary>
    /// Handles an ack of index <paramref name="n"/> (an append response). Returns false, changing
    /// nothing, if the ack is stale (≤ Match); otherwise raises Match (and Next if needed to keep
    /// Match &lt; Next), unpauses the flow and returns true.
    /// </summary>
    public bool MaybeUpdate(ulong n)
    {
        if (n <= Match)
        {
            return false;
        }

        Match = n;
        Next = Math.Max(Next, n + 1);
        MsgAppFlowPaused = false;
        return true;
    }

    /// <summary>
    /// Handles a rejection of the append whose previous index was <paramref name="rejected"/>, with
    /// the follower's hint that its log may match up to <paramref name="matchHint"/>. Returns false
    /// for a stale rejection (in Replicate: <paramref name="rejected"/> ≤ Match; otherwise:
    /// <paramref name="rejected"/> ≠ Next-1, since probes go one at a time). Otherwise lowers Next
    /// (to Match+1 in Replicate; to min(rejected, matchHint+1) but above Match in Probe), unpauses
    /// the flow in Probe and returns true.
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            // The commit index sent with the rejected entries was most likely not applied.
            SentCommitIndex = Math.Min(SentCommitIndex, Next - 1);
            return true;
        }

        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        SentCommitIndex = Math.Min(SentCommitIndex, Next - 1);
        MsgAppFlowPaused = false;
        return true;
    }

    /// <summary>
    /// Whether appends to this follower are throttled: always in Snapshot, and in Probe or
    /// Replicate while <see cref="MsgAppFlowPaused"/>.
    /// </summary>
    public bool IsPaused() => State switch
    {
        ProgressState.Probe or ProgressState.Replicate => MsgAppFlowPaused,
        ProgressState.Snapshot => true,
        _ => throw new UnreachableException($"unexpected state {State}"),
    };

    /// <summary>A deep copy (including the inflight window).</summary>
    public Progress Clone()
    {
        var clone = (Progress)MemberwiseClone();
        clone.Inflights = Inflights.Clone();
        return clone;
    }

    /// <summary>
    /// etcd's form, e.g. <c>StateReplicate match=5 next=6 inflight=1</c>, followed as applicable by
    /// <c>learner</c>, <c>paused</c>, <c>pendingSnap=N</c>, <c>inactive</c> and
    /// <c>inflight=N[full]</c>.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(FormatState(State)).Append(" match=").Append(Match).Append(" next=").Append(Next);
        if (IsLearner)
        {
            sb.Append(" learner");
        }

        if (IsPaused())
        {
            sb.Append(" paused");
        }

        if (PendingSnapshot > 0)
        {
            sb.Append(" pendingSnap=").Append(PendingSnapshot);
        }

        if (!RecentActive)
        {
            sb.Append(" inactive");
        }

        if (Inflights.Count > 0)
        {
            sb.Append(" inflight=").Append(Inflights.Count);
            if (Inflights.Full)
            {
                sb.Append("[full]");
            }
        }

        return sb.ToString();
    }

    /// <summary>etcd's state names: <c>StateProbe</c>, <c>StateReplicate</c>, <c>StateSnapshot</c>.</summary>
    public static string FormatState(ProgressState state) => state switch
    {
        ProgressState.Probe => "StateProbe",
        ProgressState.Replicate => "StateReplicate",
        ProgressState.Snapshot => "StateSnapshot",
        _ => $"State({(int)state})",
    };
}
