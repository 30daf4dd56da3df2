using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft;

internal sealed partial class Raft
{
    private void HandleSnapshot(Message m)
    {
        // MsgSnap always carries a snapshot; treat a missing one as empty, to be safe.
        Snapshot snapshot = m.Snapshot ?? new Snapshot { Metadata = new SnapshotMetadata { ConfState = new ConfState() } };
        ulong index = snapshot.Metadata?.Index ?? 0;
        ulong term = snapshot.Metadata?.Term ?? 0;
        if (Restore(snapshot))
        {
            _logger.Info($"{Id:x} [commit: {Log.Committed}] restored snapshot [index: {index}, term: {term}]");
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.LastIndex() });
        }
        else
        {
            _logger.Info($"{Id:x} [commit: {Log.Committed}] ignored snapshot [index: {index}, term: {term}]");
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.Committed });
        }
    }

    /// <summary>
    /// Installs <paramref name="snapshot"/>: replaces the log and the configuration with the
    /// snapshot's. Returns false when it was ignored: obsolete (at or below our commit index), we
    /// are not in its configuration, or our log already has its last entry (then we only
    /// fast-forward the commit index).
    /// </summary>
    internal bool Restore(Snapshot snapshot)
    {
        SnapshotMetadata metadata = snapshot.Metadata ?? new SnapshotMetadata();
        if (metadata.Index <= Log.Committed)
        {
            return false;
        }

        if (Log.Applying > Log.Applied)
        {
            // Committed entries are still being applied (handed out in a Ready, or to the apply
            // thread with async storage writes). Restoring now would replace the configuration
            // under conf changes the application is about to apply, which then fail ("can't leave
            // a non-joint config"; found by the simulator, seed 257). Ignore the snapshot: the
            // leader sends another one once it learns this one was not installed.
            _logger.Info($"{Id:x} [commit: {Log.Committed}, applied: {Log.Applied}, applying: {Log.Applying}] ignored snapshot [index: {metadata.Index}, term: {metadata.Term}] while applying");
            return false;
        }

        if (State != StateType.Follower)
        {
            // Defense in depth, should never happen: a leader applying a snapshot could move to a
            // new term without becoming follower. Step down and ignore the snapshot.
            _logger.Warning($"{Id:x} attempted to restore snapshot as leader; should never happen");
            BecomeFollower(Term + 1, RaftConstants.None);
            return false;
        }

        // More defense in depth: much code assumes our id is in the tracker. LearnersNext needs
        // no check: its members are in VotersOutgoing.
        ConfState confState = metadata.ConfState ?? new ConfState();
        if (!confState.Voters.Contains(Id) && !confState.Learners.Contains(Id) && !confState.VotersOutgoing.Contains(Id))
        {
            _logger.Warning($"{Id:x} attempted to restore snapshot but it is not in the ConfState {RaftDescribe.DescribeConfState(confState)}; should never happen");
            return false;
        }

        if (Log.MatchTerm(metadata.Index, metadata.Term))
        {
            // We have the snapshot's last entry: our log is a superset, just commit up to it.
            (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
            _logger.Info($"{Id:x} [commit: {Log.Committed}, lastindex: {lastIndex}, lastterm: {lastTerm}] fast-forwarded commit to snapshot [index: {metadata.Index}, term: {metadata.Term}]");
            Log.CommitTo(metadata.Index);
            return false;
        }

        Log.Restore(snapshot);

        // Reset the configuration and add the (possibly updated) peers anew.
        Tracker = new ProgressTracker(Tracker.MaxInflight, Tracker.MaxInflightBytes);
        (TrackerConfig config, ProgressMap progress) = ConfChangeRestore.Restore(new Changer(Tracker, Log.LastIndex()), confState);
        AssertConfStatesEquivalent(confState, SwitchToConfig(config, progress));

        (ulong last, ulong lastT) = Log.LastEntryId();
        _logger.Info($"{Id:x} [commit: {Log.Committed}, lastindex: {last}, lastterm: {lastT}] restored snapshot [index: {metadata.Index}, term: {metadata.Term}]");
        return true;
    }

    /// <summary>The snapshot is durable and applied: drop it from the unstable log and count it as applied.</summary>
    internal void AppliedSnapshot(Snapshot snapshot)
    {
        ulong index = snapshot.Metadata?.Index ?? 0;
        Log.StableSnapTo(index);
        AppliedTo(index, 0);
    }

    private void HandleSnapshotStatus(Message m, Progress pr)
    {
        if (pr.State != ProgressState.Snapshot)
        {
            return;
        }

        if (!m.Reject)
        {
            pr.BecomeProbe();
            _logger.Debug($"{Id:x} snapshot succeeded, resumed sending replication messages to {m.From:x} [{pr}]");
        }
        else
        {
            // Order matters: clear the pending snapshot first, or probing would resume from the
            // snapshot index of a snapshot that never landed.
            pr.PendingSnapshot = 0;
            pr.BecomeProbe();
            _logger.Debug($"{Id:x} snapshot failed, resumed sending replication messages to {m.From:x} [{pr}]");
        }

        // After success, wait for the follower's MsgAppResp before the next append; after failure,
        // wait a heartbeat interval before retrying.
        pr.MsgAppFlowPaused = true;
    }
}
