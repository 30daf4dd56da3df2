using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

internal sealed class MaintenanceClient(Connection connection) : IMaintenanceClient
{
    public async Task<StatusResult> StatusAsync(string? endpoint = null, CancellationToken cancellationToken = default)
    {
        Api.StatusResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.StatusAsync(new Api.StatusRequest(), o).ResponseAsync, Retry.Read, cancellationToken, connection.Resolve(endpoint)).ConfigureAwait(false);
        return new StatusResult(Proto.Header(r.Header), r.Version, r.DbSize, r.DbSizeInUse, r.Leader, r.RaftIndex, r.RaftTerm, r.RaftAppliedIndex, [.. r.Errors], r.IsLearner);
    }

    public Task<IReadOnlyList<AlarmMember>> AlarmListAsync(CancellationToken cancellationToken = default) =>
        AlarmAsync(new Api.AlarmRequest { Action = Api.AlarmRequest.Types.AlarmAction.Get }, Retry.Read, cancellationToken);

    public Task<IReadOnlyList<AlarmMember>> AlarmDisarmAsync(AlarmMember alarm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        return AlarmAsync(
            new Api.AlarmRequest { Action = Api.AlarmRequest.Types.AlarmAction.Deactivate, MemberID = alarm.MemberId, Alarm = (Api.AlarmType)alarm.Alarm },
            Retry.Write,
            cancellationToken);
    }

    public async Task<ResponseHeader> DefragmentAsync(string? endpoint = null, CancellationToken cancellationToken = default)
    {
        Api.DefragmentResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.DefragmentAsync(new Api.DefragmentRequest(), o).ResponseAsync, Retry.Read, cancellationToken, connection.Resolve(endpoint)).ConfigureAwait(false);
        return Proto.Header(r.Header);
    }

    public async Task<HashResult> HashAsync(string? endpoint = null, CancellationToken cancellationToken = default)
    {
        Api.HashResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.HashAsync(new Api.HashRequest(), o).ResponseAsync, Retry.Read, cancellationToken, connection.Resolve(endpoint)).ConfigureAwait(false);
        return new HashResult(Proto.Header(r.Header), r.Hash);
    }

    public async Task<HashKVResult> HashKVAsync(long revision = 0, string? endpoint = null, CancellationToken cancellationToken = default)
    {
        var request = new Api.HashKVRequest { Revision = revision };
        Api.HashKVResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.HashKVAsync(request, o).ResponseAsync, Retry.Read, cancellationToken, connection.Resolve(endpoint)).ConfigureAwait(false);
        return new HashKVResult(Proto.Header(r.Header), r.Hash, r.CompactRevision);
    }

    public Task<long> SnapshotAsync(Stream destination, string? endpoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        long written = 0;
        return connection.CallAsync(
            async (e, o) =>
            {
                if (written > 0)
                {
                    // A retry after part of the snapshot reached the destination would corrupt it.
                    throw new EtcdClientException(StatusCode.Unavailable, $"snapshot stream broke after {written} bytes");
                }

                using AsyncServerStreamingCall<Api.SnapshotResponse> call = e.Maintenance.Snapshot(new Api.SnapshotRequest(), o);
                while (await call.ResponseStream.MoveNext(o.CancellationToken).ConfigureAwait(false))
                {
                    Api.SnapshotResponse chunk = call.ResponseStream.Current;
                    await destination.WriteAsync(chunk.Blob.Memory, o.CancellationToken).ConfigureAwait(false);
                    written += chunk.Blob.Length;
                }

                return written;
            },
            Retry.Read,
            cancellationToken,
            connection.Resolve(endpoint),
            bounded: false);
    }

    public async Task<ResponseHeader> MoveLeaderAsync(ulong targetMemberId, string? endpoint = null, CancellationToken cancellationToken = default)
    {
        var request = new Api.MoveLeaderRequest { TargetID = targetMemberId };
        Api.MoveLeaderResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.MoveLeaderAsync(request, o).ResponseAsync, Retry.Write, cancellationToken, connection.Resolve(endpoint)).ConfigureAwait(false);
        return Proto.Header(r.Header);
    }

    private async Task<IReadOnlyList<AlarmMember>> AlarmAsync(Api.AlarmRequest request, Retry retry, CancellationToken cancellationToken)
    {
        Api.AlarmResponse r = await connection.CallAsync(
            (e, o) => e.Maintenance.AlarmAsync(request, o).ResponseAsync, retry, cancellationToken).ConfigureAwait(false);
        return [.. r.Alarms.Select(a => new AlarmMember(a.MemberID, (AlarmType)a.Alarm))];
    }
}
