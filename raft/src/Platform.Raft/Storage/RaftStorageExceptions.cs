namespace Platform.Raft;

/// <summary>
/// Base class of the errors an <see cref="IRaftStorage"/> reports and raft understands. Any other
/// exception thrown by a storage makes the node unusable: it propagates out of the
/// <see cref="RawNode"/> call and the node must be discarded and restarted from storage.
/// </summary>
public class RaftStorageException : RaftException
{
    public RaftStorageException()
    {
    }

    public RaftStorageException(string message)
        : base(message)
    {
    }

    public RaftStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The requested index is older than the storage's first index: it was compacted into a
/// snapshot (etcd's ErrCompacted). Raft reacts by sending the follower a snapshot instead.
/// </summary>
public class LogCompactedException : RaftStorageException
{
    public LogCompactedException()
        : base("requested index is unavailable due to compaction")
    {
    }

    public LogCompactedException(string message)
        : base(message)
    {
    }

    public LogCompactedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The requested entry is not (yet) in the storage (etcd's ErrUnavailable).</summary>
public class LogUnavailableException : RaftStorageException
{
    public LogUnavailableException()
        : base("requested entry at index is unavailable")
    {
    }

    public LogUnavailableException(string message)
        : base(message)
    {
    }

    public LogUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The snapshot is being prepared and is not available right now (etcd's
/// ErrSnapshotTemporarilyUnavailable). Raft skips sending it and asks again later.
/// </summary>
public class SnapshotTemporarilyUnavailableException : RaftStorageException
{
    public SnapshotTemporarilyUnavailableException()
        : base("snapshot is temporarily unavailable")
    {
    }

    public SnapshotTemporarilyUnavailableException(string message)
        : base(message)
    {
    }

    public SnapshotTemporarilyUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A snapshot older than (or as old as) the current one was applied or requested (etcd's
/// ErrSnapOutOfDate). Thrown by <see cref="MemoryStorage"/>; raft itself never sees it.
/// </summary>
public class SnapshotOutOfDateException : RaftStorageException
{
    public SnapshotOutOfDateException()
        : base("requested index is older than the existing snapshot")
    {
    }

    public SnapshotOutOfDateException(string message)
        : base(message)
    {
    }

    public SnapshotOutOfDateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
