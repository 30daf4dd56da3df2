using Platform.Etcd.Api;
using Platform.Raft;

namespace Platform.Etcd.Server;

/// <summary>
/// Carries raft messages between members (etcd's rafthttp). The server calls
/// <see cref="Send"/> from its raft loop once a Ready's state is durable; it must not block
/// (queue and return; a full queue drops and reports the peer unreachable). Messages from peers
/// come back through <see cref="IRaftMessageSink"/>. MsgSnap travels with a copy of the sender's
/// backend (<see cref="IRaftMessageSink.OpenSnapshotBackend"/> on the sender,
/// <see cref="IRaftMessageSink.ReceiveSnapshotAsync"/> on the receiver).
/// </summary>
public interface IRaftTransport
{
    /// <summary>Starts delivering to <paramref name="sink"/>; called once, before any <see cref="Send"/>.</summary>
    public void Start(IRaftMessageSink sink);

    /// <summary>Queues <paramref name="messages"/> for their recipients; never blocks.</summary>
    public void Send(IReadOnlyList<Message> messages);

    /// <summary>Since when the stream to <paramref name="memberId"/> has been working; null = not connected (etcd's ActiveSince).</summary>
    public DateTimeOffset? ActiveSince(ulong memberId);

    /// <summary>
    /// A request to another member that is not a raft message (a follower forwarding a lease
    /// keep-alive to the leader): <paramref name="body"/> goes to <paramref name="kind"/> on
    /// <paramref name="memberId"/>, whose <see cref="IRaftMessageSink.HandlePeerRequestAsync"/> answers.
    /// </summary>
    /// <exception cref="EtcdException">The member could not be reached or failed the request.</exception>
    public ValueTask<byte[]> RequestAsync(ulong memberId, string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

/// <summary>Where a transport delivers what peers sent, and what it needs to know about the cluster (thread-safe).</summary>
public interface IRaftMessageSink
{
    /// <summary>This member's id (the From of what it sends).</summary>
    public ulong MemberId { get; }

    /// <summary>The cluster id peers must agree on.</summary>
    public ulong ClusterId { get; }

    /// <summary>Steps <paramref name="message"/> into the local raft node (queued to the raft loop).</summary>
    public void Receive(Message message);

    /// <summary>Reports that <paramref name="memberId"/> could not be reached.</summary>
    public void ReportUnreachable(ulong memberId);

    /// <summary>Reports how sending a snapshot to <paramref name="memberId"/> ended.</summary>
    public void ReportSnapshot(ulong memberId, bool failed);

    /// <summary>A peer told us this member was removed from the cluster: it must stop.</summary>
    public void ReportRemoved(string reason);

    /// <summary>The peer URLs of <paramref name="memberId"/> (empty when it is not a member).</summary>
    public IReadOnlyList<string> PeerUrls(ulong memberId);

    /// <summary>Whether <paramref name="memberId"/> was removed from the cluster (its messages are refused).</summary>
    public bool IsRemoved(ulong memberId);

    /// <summary>The current members, for the peer listener's <c>/members</c>.</summary>
    public IReadOnlyList<Member> Members();

    /// <summary>Sender side of MsgSnap: a consistent copy of the backend to ship with it (the caller disposes it).</summary>
    public Stream OpenSnapshotBackend(Message snapshot);

    /// <summary>Receiver side of MsgSnap: stores <paramref name="backend"/> durably, then steps the message.</summary>
    public Task ReceiveSnapshotAsync(Message snapshot, Stream backend, CancellationToken cancellationToken);

    /// <summary>Answers a <see cref="IRaftTransport.RequestAsync"/> from a peer.</summary>
    public ValueTask<byte[]> HandlePeerRequestAsync(string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
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

    public DateTimeOffset? ActiveSince(ulong memberId) => null;

    public ValueTask<byte[]> RequestAsync(ulong memberId, string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        throw EtcdErrors.NoLeader;
}
