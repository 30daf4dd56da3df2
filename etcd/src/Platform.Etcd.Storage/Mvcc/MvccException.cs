namespace Platform.Etcd.Storage.Mvcc;

/// <summary>The errors of the MVCC store that callers handle (and translate to gRPC statuses).</summary>
public enum MvccError
{
    /// <summary>"mvcc: required revision has been compacted".</summary>
    Compacted,

    /// <summary>"mvcc: required revision is a future revision".</summary>
    FutureRevision,

    /// <summary>"etcdserver: mvcc: database space exceeded": the quota; the NOSPACE alarm is raised.</summary>
    NoSpace,
}

/// <summary>An expected MVCC error; see <see cref="Error"/>.</summary>
public sealed class MvccException : Exception
{
    public MvccException()
        : this(MvccError.Compacted)
    {
    }

    public MvccException(MvccError error)
        : base(MessageOf(error))
    {
        Error = error;
    }

    public MvccException(string message)
        : base(message)
    {
    }

    public MvccException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MvccError Error { get; }

    public static string MessageOf(MvccError error) => error switch
    {
        MvccError.Compacted => "mvcc: required revision has been compacted",
        MvccError.FutureRevision => "mvcc: required revision is a future revision",
        MvccError.NoSpace => "etcdserver: mvcc: database space exceeded",
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };
}
