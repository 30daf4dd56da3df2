using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Storage.Mvcc;

using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    // etcd's snapshotSendBufferSize: 32 KiB per SnapshotResponse.
    private const int SnapshotChunkBytes = 32 * 1024;

    public async ValueTask<AlarmResponse> AlarmAsync(AlarmRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckAdmin(context);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { Alarm = request }, context, cancellationToken).ConfigureAwait(false);
        // etcd 3.4's Maintenance.Alarm answers without a header (v3rpc does not fill it, unlike every other call).
        return (AlarmResponse)result.Response!;
    }

    public ValueTask<StatusResponse> StatusAsync(StatusRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        var response = new StatusResponse
        {
            Header = NewHeader(),
            Version = ServerVersion,
            DbSize = _kv.DbSizeBytes,
            DbSizeInUse = _kv.DbSizeInUseBytes,
            Leader = Leader,
            RaftIndex = Volatile.Read(ref _committedIndex),
            RaftTerm = RaftTerm,
            RaftAppliedIndex = AppliedIndex,
            IsLearner = _membership.Get(MemberId)?.IsLearner ?? false,
        };

        // As etcd 3.4: the text form of each active alarm.
        response.Errors.AddRange(_alarms.List().Select(a => $"memberID:{a.MemberID} alarm:{a.Alarm.ToString().ToUpperInvariant()} "));
        return ValueTask.FromResult(response);
    }

    public async ValueTask<DefragmentResponse> DefragmentAsync(DefragmentRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        CheckAdmin(context);
        await _kv.DefragmentAsync(cancellationToken).ConfigureAwait(false);
        ServerMetrics.UpdateStore(_kv);
        return new DefragmentResponse { Header = NewHeader() };
    }

    public ValueTask<HashResponse> HashAsync(HashRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        CheckAdmin(context);
        return ValueTask.FromResult(new HashResponse { Header = NewHeader(), Hash = _kv.Hash() });
    }

    public ValueTask<HashKVResponse> HashKVAsync(HashKVRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfUnavailable();
        CheckAdmin(context);
        HashKvResult hash = KvOps.Call(() => _kv.HashKV(request.Revision));
        return ValueTask.FromResult(new HashKVResponse { Header = NewHeader(hash.CurrentRevision), Hash = hash.Hash, CompactRevision = hash.CompactRevision });
    }

    /// <summary>
    /// etcd's Maintenance.Snapshot: a consistent copy of the backend, as a bbolt file, in 32 KiB chunks whose
    /// remaining_bytes count down to 0, then one more response with remaining_bytes 0 whose blob
    /// is the sha256 of everything sent (what <c>etcdctl snapshot restore</c> verifies).
    /// </summary>
    public async IAsyncEnumerable<SnapshotResponse> SnapshotAsync(SnapshotRequest request, RequestContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        CheckAdmin(context);
        string path = Path.Combine(_layout.SnapDir, $"db.snapshot.{Guid.NewGuid():N}");
        try
        {
            // etcd's backend format (bbolt), so etcdctl snapshot status/restore and etcd itself read it.
            await Task.Run(() => Storage.Bolt.BoltBackendFiles.WriteSnapshot(_kv, path), cancellationToken).ConfigureAwait(false);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, SnapshotChunkBytes, FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                long total = stream.Length;
                long sent = 0;
                byte[] buffer = new byte[SnapshotChunkBytes];
                while (sent < total)
                {
                    int n = await stream.ReadAtLeastAsync(buffer, (int)Math.Min(buffer.Length, total - sent), throwOnEndOfStream: true, cancellationToken).ConfigureAwait(false);
                    sent += n;
                    sha.AppendData(buffer, 0, n);
                    yield return new SnapshotResponse { Header = NewHeader(), RemainingBytes = (ulong)(total - sent), Blob = ByteString.CopyFrom(buffer, 0, n) };
                }
            }

            yield return new SnapshotResponse { Header = NewHeader(), RemainingBytes = 0, Blob = ByteString.CopyFrom(sha.GetHashAndReset()) };
        }
        finally
        {
            File.Delete(path);
        }
    }

    public async ValueTask<MoveLeaderResponse> MoveLeaderAsync(MoveLeaderRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfUnavailable();
        CheckAdmin(context);
        if (!IsLeader)
        {
            throw EtcdErrors.NotLeader;
        }

        if (!_membership.VoterIds().Contains(request.TargetID))
        {
            throw EtcdErrors.BadLeaderTransferee;
        }

        if (request.TargetID != MemberId)
        {
            Post(new Raft.ActionInput(node => node.TransferLeader(request.TargetID)));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.EffectiveRequestTimeout);
            while (Leader != request.TargetID)
            {
                try
                {
                    await Task.Delay(_options.HeartbeatInterval, _time, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new EtcdException(EtcdErrorCode.Unavailable, "etcdserver: request timed out, leader transfer took too long");
                }
            }
        }

        return new MoveLeaderResponse { Header = NewHeader() };
    }

    private void CheckAdmin(RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_auth.Enabled)
        {
            (string user, ulong revision) = _auth.Identify(context);
            _auth.CheckAdmin(user, revision);
        }
    }
}
