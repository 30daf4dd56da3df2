namespace Platform.Raft.Tracker;

/// <summary>How the leader replicates to a follower (see etcd-io/raft design.md).</summary>
public enum ProgressState
{
    /// <summary>
    /// The follower's last matching index is unknown: send at most one append per heartbeat
    /// interval and wait for its answer before sending more.
    /// </summary>
    Probe,

    /// <summary>
    /// The follower is known to match: stream appends optimistically, bounded by the inflight
    /// window.
    /// </summary>
    Replicate,

    /// <summary>The follower needs a snapshot; no appends are sent until it is applied or fails.</summary>
    Snapshot,
}
