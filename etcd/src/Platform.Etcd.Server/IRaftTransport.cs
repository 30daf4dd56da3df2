using Platform.Raft;

namespace Platform.Etcd.Server;

/// <summary>
/// Carries raft messages between members (etcd's rafthttp). The server calls
/// <see cref="Send"/> from its raft loop once a Ready's state is durable; it must not block
/// (queue and return). Messages from peers come back through <see cref="IRaftMessageSink"/>.
/// </summary>
public interface IRaftTransport
{
    /// <summary>Starts delivering to <paramref name="sink"/>; called once, before any <see cref="Send"/>.</summary>
    public void Start(IRaftMessageSink sink);

    /// <summary>Queues <paramref name="messages"/> for their recipients; never blocks.</summary>
    public void Send(IReadOnlyList<Message> messages);
}

/// <summary>Where a transport delivers what peers sent (thread-safe).</summary>
public interface IRaftMessageSink
{
    /// <summary>Steps <paramref name="message"/> into the local raft node (queued to the raft loop).</summary>
    public void Receive(Message message);

    /// <summary>Reports that <paramref name="memberId"/> could not be reached.</summary>
    public void ReportUnreachable(ulong memberId);
}

/// <summary>The transport of a member with no peers: drops everything (a single member sends nothing).</summary>
internal sealed class NullRaftTransport : IRaftTransport
{
    public static NullRaftTransport Instance { get; } = new();

    public void Start(IRaftMessageSink sink)
    {
    }

    public void Send(IReadOnlyList<Message> messages)
    {
    }
}
