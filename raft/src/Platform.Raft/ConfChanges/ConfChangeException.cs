namespace Platform.Raft.ConfChanges;

/// <summary>
/// A configuration change was refused: it is invalid for the current configuration (for
/// example, it changes more than one voter without joint consensus, or removes every voter), or
/// the configuration it applies to violates an invariant. The configuration is left unchanged.
/// Messages are etcd-io/raft's.
/// </summary>
public sealed class ConfChangeException : InvalidOperationException
{
    public ConfChangeException()
    {
    }

    public ConfChangeException(string message)
        : base(message)
    {
    }

    public ConfChangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
