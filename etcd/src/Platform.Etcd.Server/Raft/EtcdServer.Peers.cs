using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.State;
using Platform.Etcd.Storage.Mvcc;
using Platform.Raft;

namespace Platform.Etcd.Server;

/// <summary>
/// What the peer transport needs from the member (<see cref="IRaftMessageSink"/>): membership
/// lookups, snapshot backends in both directions, requests forwarded between members, and
/// stopping when the member was removed.
/// </summary>
internal sealed partial class EtcdServer
{
    /// <summary>Peer request kinds (<see cref="IRaftTransport.RequestAsync"/>).</summary>
    internal const string LeaseKeepAliveKind = "lease-keepalive";
    internal const string LeaseTimeToLiveKind = "lease-ttl";
    internal const string MemberPromoteKind = "member-promote";

    // etcd stops a removed member 10 ticks after applying its removal, so the commit reaches the others.
    private const long RemovedStopDelayTicks = 10;

    private readonly TaskCompletionSource<string> _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _removedReason;
    private long _removedAtTick = -1;

    /// <summary>Completes (with the reason) when the member stopped by itself: removed from the cluster, or its raft loop failed.</summary>
    public Task<string> Terminated => _terminated.Task;

    public void ReportSnapshot(ulong memberId, bool failed) =>
        Post(new Raft.ActionInput(node => node.ReportSnapshot(memberId, failed ? SnapshotStatus.Failure : SnapshotStatus.Finish)));

    public void ReportRemoved(string reason) => Post(new Raft.ActionInput(_ => MarkRemoved(reason)));

    public IReadOnlyList<string> PeerUrls(ulong memberId)
    {
        if (_membership.Get(memberId)?.PeerURLs is { } urls)
        {
            return [.. urls];
        }

        // A joining member learns the members from the log the leader sends it; until then it
        // answers the leader at the URLs the cluster told it about (etcd adds remote peers the same way).
        return _options.ExistingCluster?.Members.FirstOrDefault(m => m.ID == memberId) is { } known && !_membership.IsRemoved(memberId)
            ? [.. known.PeerURLs]
            : [];
    }

    public bool IsRemoved(ulong memberId) => _membership.IsRemoved(memberId);

    public IReadOnlyList<Member> Members() => _membership.List();

    public Stream OpenSnapshotBackend(Message snapshot)
    {
        string path = Path.Combine(_layout.SnapDir, $"db.send.{Guid.NewGuid():N}");
        _kv.CopySnapshotTo(path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.SequentialScan);
    }

    public async Task ReceiveSnapshotAsync(Message snapshot, Stream backend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(backend);
        string path = ReceivedBackendPath(snapshot.Snapshot.Metadata.Index);
        string tmp = path + ".tmp";
        var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            await backend.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        _logger.LogInformation("etcdserver: received backend of snapshot at index {Index} from {From:x} ({Bytes} bytes)", snapshot.Snapshot.Metadata.Index, snapshot.From, new FileInfo(path).Length);
        Post(new Raft.StepInput(snapshot));
    }

    public async ValueTask<byte[]> HandlePeerRequestAsync(string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case LeaseKeepAliveKind:
                {
                    var request = LeaseKeepAliveRequest.Parser.ParseFrom(body.Span);
                    ThrowIfUnavailable();
                    if (!IsLeader)
                    {
                        throw EtcdErrors.NotLeader;
                    }

                    LeaseKeepAliveResponse response = await LeaseRenewAsync(request, RequestContext.Anonymous, cancellationToken).ConfigureAwait(false);
                    return response.ToByteArray();
                }

            case LeaseTimeToLiveKind:
                {
                    var request = LeaseTimeToLiveRequest.Parser.ParseFrom(body.Span);
                    if (!IsLeader)
                    {
                        throw EtcdErrors.NotLeader;
                    }

                    LeaseTimeToLiveResponse response = await LeaseTimeToLiveAsync(request, RequestContext.Anonymous, cancellationToken).ConfigureAwait(false);
                    return response.ToByteArray();
                }

            case MemberPromoteKind:
                {
                    var request = MemberPromoteRequest.Parser.ParseFrom(body.Span);
                    if (!IsLeader)
                    {
                        throw EtcdErrors.NotLeader;
                    }

                    MemberPromoteResponse response = await MemberPromoteAsync(request, RequestContext.Anonymous, cancellationToken).ConfigureAwait(false);
                    return response.ToByteArray();
                }

            default:
                throw new EtcdException(EtcdErrorCode.InvalidArgument, $"etcdserver: unknown peer request {kind}");
        }
    }

    /// <summary>Sends <paramref name="request"/> to the leader as a peer request (a follower cannot serve it).</summary>
    private async ValueTask<TResponse> ForwardToLeaderAsync<TResponse>(string kind, IMessage request, MessageParser<TResponse> parser, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        ulong leader = Leader;
        if (leader == 0)
        {
            throw EtcdErrors.NoLeader;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.EffectiveRequestTimeout);
        try
        {
            byte[] answer = await _transport.RequestAsync(leader, kind, request.ToByteArray(), timeout.Token).ConfigureAwait(false);
            return parser.ParseFrom(answer);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout;
        }
    }

    private string ReceivedBackendPath(ulong index) => Path.Combine(_layout.SnapDir, $"{index:x16}.snap.db");

    /// <summary>
    /// Backends received for snapshots at or below <paramref name="index"/> will never be installed.
    /// Newer ones stay: the leader may already have sent the next snapshot, whose MsgSnap is still
    /// queued behind this one (deleting it made that install fail; found by the snapshot catch-up test).
    /// </summary>
    internal static void DeleteReceivedBackendsUpTo(string snapDir, ulong index)
    {
        foreach (string file in Directory.EnumerateFiles(snapDir, "*.snap.db"))
        {
            string name = Path.GetFileName(file);
            if (ulong.TryParse(name.AsSpan(0, name.IndexOf('.', StringComparison.Ordinal)), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out ulong received)
                && received <= index)
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Loop thread, applying a leader's snapshot: the backend that came with it replaces ours (etcd's
    /// applySnapshot → recoverSnapshotBackend), and with it leases, auth and alarms. Watch streams
    /// stay open: the hub catches their watchers up from the new backend.
    /// </summary>
    private void ReplaceBackend(ulong index)
    {
        string received = ReceivedBackendPath(index);
        if (!File.Exists(received))
        {
            throw new InvalidOperationException($"etcdserver: snapshot at index {index} was installed without its backend ({received} is missing)");
        }

        IKvStore old = _kv;

        // Committing first keeps the old file whole; readers still inside it finish on it.
        old.Dispose();
        File.Move(received, _layout.BackendPath, overwrite: true);
        Storage.Internal.PosixFile.SyncDirectory(_layout.SnapDir);
        DeleteReceivedBackendsUpTo(_layout.SnapDir, index);

        _kv = MvccStores.Open(_layout.BackendPath, BackendOptions(), _options.LoggerFactory.CreateLogger("mvcc"));
        _stateStore = new TablesServerStateStore(_kv);
        LoadServerState();
        if (IsLeader)
        {
            _lessor.Promote(_options.ElectionTimeout);
        }

        _watchHub.ReplaceStore(_kv);
        _logger.LogInformation(
            "etcdserver: replaced the backend with the snapshot's (index {Index}, consistent index {ConsistentIndex}, revision {Revision})",
            index,
            _backendAppliedIndex,
            _kv.CurrentRevision);
    }

    /// <summary>Loop thread: this member left the cluster; it stops after a few ticks (so its last commit reaches the others).</summary>
    private void MarkRemoved(string reason)
    {
        if (_removedReason is not null)
        {
            return;
        }

        _removedReason = reason;
        _removedAtTick = _tickCount;
        _logger.LogWarning("etcdserver: {Reason}; the member stops", reason);
    }

    private bool ShouldStopAsRemoved() => _removedReason is not null && _tickCount - _removedAtTick >= RemovedStopDelayTicks;
}
