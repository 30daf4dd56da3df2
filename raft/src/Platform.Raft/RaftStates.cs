using Google.Protobuf;

namespace Platform.Raft;

/// <summary>The role of a node.</summary>
public enum StateType
{
    Follower,
    Candidate,
    Leader,
    PreCandidate,
}

/// <summary>
/// Volatile state, useful for logging and diagnostics, that need not be persisted: the known
/// leader (<see cref="RaftConstants.None"/> when unknown) and this node's role.
/// </summary>
public sealed record SoftState(ulong Lead, StateType RaftState);

/// <summary>
/// The answer to a <see cref="RawNode.ReadIndex"/> request: once the application has applied up
/// to <see cref="Index"/>, reads issued before the request are linearizable. The caller matches
/// answers to requests by <see cref="RequestContext"/> (use unique contexts).
/// </summary>
public sealed record ReadState(ulong Index, ByteString RequestContext);

/// <summary>The outcome of sending a snapshot, reported through <see cref="RawNode.ReportSnapshot"/>.</summary>
public enum SnapshotStatus
{
    Finish,
    Failure,
}
