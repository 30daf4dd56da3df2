namespace Platform.Raft;

/// <summary>Base class of the errors raft reports to its caller.</summary>
public class RaftException : Exception
{
    public RaftException()
    {
    }

    public RaftException(string message)
        : base(message)
    {
    }

    public RaftException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The proposal was not appended (etcd's ErrProposalDropped): there is no known leader, a leader
/// transfer is in progress, forwarding is disabled, the uncommitted-bytes limit would be
/// exceeded, or this node was removed from the configuration. The proposer should fail fast and
/// may retry later; nothing about the proposal reached the log.
/// </summary>
public class ProposalDroppedException : RaftException
{
    public ProposalDroppedException()
        : base("raft proposal dropped")
    {
    }

    public ProposalDroppedException(string message)
        : base(message)
    {
    }

    public ProposalDroppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A local-only message type (MsgHup, MsgBeat, ...) arrived through <see cref="RawNode.Step"/> (etcd's ErrStepLocalMsg).</summary>
public class StepLocalMessageException : RaftException
{
    public StepLocalMessageException()
        : base("raft: cannot step raft local message")
    {
    }

    public StepLocalMessageException(string message)
        : base(message)
    {
    }

    public StepLocalMessageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A response message came from a node that has no progress in the configuration (etcd's ErrStepPeerNotFound).</summary>
public class StepPeerNotFoundException : RaftException
{
    public StepPeerNotFoundException()
        : base("raft: cannot step as peer not found")
    {
    }

    public StepPeerNotFoundException(string message)
        : base(message)
    {
    }

    public StepPeerNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
