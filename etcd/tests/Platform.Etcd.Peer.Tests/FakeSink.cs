using System.Collections.Concurrent;
using System.Threading.Channels;
using Platform.Etcd.Api;
using Platform.Etcd.Server;
using Platform.Raft;

namespace Platform.Etcd.Peer.Tests;

/// <summary>A member as the transport sees it: fixed ids and peer URLs; records what arrives.</summary>
internal sealed class FakeSink(ulong memberId, ulong clusterId) : IRaftMessageSink
{
    public ConcurrentDictionary<ulong, string> Urls { get; } = new();

    public ConcurrentDictionary<ulong, bool> Removed { get; } = new();

    public Channel<Message> Received { get; } = Channel.CreateUnbounded<Message>();

    public Channel<ulong> Unreachable { get; } = Channel.CreateUnbounded<ulong>();

    public Channel<(ulong Id, bool Failed)> Snapshots { get; } = Channel.CreateUnbounded<(ulong, bool)>();

    public TaskCompletionSource<string> RemovedReason { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<byte[]> Backends { get; } = new();

    public byte[] BackendToSend { get; set; } = [];

    public ulong MemberId => memberId;

    public ulong ClusterId => clusterId;

    public void Receive(Message message) => Received.Writer.TryWrite(message);

    public void ReportUnreachable(ulong memberId) => Unreachable.Writer.TryWrite(memberId);

    public void ReportSnapshot(ulong memberId, bool failed) => Snapshots.Writer.TryWrite((memberId, failed));

    public void ReportRemoved(string reason) => RemovedReason.TrySetResult(reason);

    public IReadOnlyList<string> PeerUrls(ulong memberId) => Urls.TryGetValue(memberId, out string? url) ? [url] : [];

    public bool IsRemoved(ulong memberId) => Removed.ContainsKey(memberId);

    public IReadOnlyList<Member> Members() =>
        [.. Urls.OrderBy(u => u.Key).Select(u => new Member { ID = u.Key, Name = $"m{u.Key}", PeerURLs = { u.Value } })];

    public Stream OpenSnapshotBackend(Message snapshot) => new MemoryStream(BackendToSend);

    public async Task ReceiveSnapshotAsync(Message snapshot, Stream backend, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await backend.CopyToAsync(copy, cancellationToken);
        Backends.Enqueue(copy.ToArray());
        Received.Writer.TryWrite(snapshot);
    }

    public ValueTask<byte[]> HandlePeerRequestAsync(string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) => kind switch
    {
        "echo" => ValueTask.FromResult(body.ToArray().Reverse().ToArray()),
        _ => throw new EtcdException(EtcdErrorCode.FailedPrecondition, "etcdserver: not leader"),
    };
}
