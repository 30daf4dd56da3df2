namespace Platform.Raft;

/// <summary>
/// The only logging raft does. Deliberately tiny so the library needs no logging framework; hosts
/// adapt their own (etcd adapts Microsoft.Extensions.Logging). Calls happen on the caller's
/// thread, inside <see cref="RawNode"/> methods, and must not call back into the node.
/// The steady-state paths (propose, append, commit) log nothing.
/// </summary>
public interface IRaftLogger
{
    public void Debug(string message);

    public void Info(string message);

    public void Warning(string message);

    public void Error(string message);
}

/// <summary>A logger that discards everything: the default when <see cref="RaftConfig.Logger"/> is null.</summary>
public sealed class NullRaftLogger : IRaftLogger
{
    public static NullRaftLogger Instance { get; } = new();

    private NullRaftLogger()
    {
    }

    public void Debug(string message)
    {
    }

    public void Info(string message)
    {
    }

    public void Warning(string message)
    {
    }

    public void Error(string message)
    {
    }
}
