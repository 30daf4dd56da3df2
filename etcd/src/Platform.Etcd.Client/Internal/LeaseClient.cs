using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

internal sealed class LeaseClient(Connection connection) : ILeaseClient
{
    public async Task<LeaseGrantResult> GrantAsync(long ttlSeconds, long id = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlSeconds);
        var request = new Api.LeaseGrantRequest { TTL = ttlSeconds, ID = id };
        Api.LeaseGrantResponse r = await connection.CallAsync(
            (e, o) => e.Lease.LeaseGrantAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        if (r.Error.Length > 0)
        {
            throw Errors.FromStatus(StatusCode.Unknown, r.Error);
        }

        return new LeaseGrantResult(Proto.Header(r.Header), r.ID, r.TTL);
    }

    public async Task<ResponseHeader> RevokeAsync(long id, CancellationToken cancellationToken = default)
    {
        var request = new Api.LeaseRevokeRequest { ID = id };
        Api.LeaseRevokeResponse r = await connection.CallAsync(
            (e, o) => e.Lease.LeaseRevokeAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return Proto.Header(r.Header);
    }

    public async Task<LeaseTimeToLiveResult> TimeToLiveAsync(long id, bool keys = false, CancellationToken cancellationToken = default)
    {
        var request = new Api.LeaseTimeToLiveRequest { ID = id, Keys = keys };
        Api.LeaseTimeToLiveResponse r = await connection.CallAsync(
            (e, o) => e.Lease.LeaseTimeToLiveAsync(request, o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return new LeaseTimeToLiveResult(Proto.Header(r.Header), r.ID, r.TTL, r.GrantedTTL, [.. r.Keys.Select(k => k.ToByteArray())]);
    }

    public async Task<LeaseLeasesResult> LeasesAsync(CancellationToken cancellationToken = default)
    {
        Api.LeaseLeasesResponse r = await connection.CallAsync(
            (e, o) => e.Lease.LeaseLeasesAsync(new Api.LeaseLeasesRequest(), o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return new LeaseLeasesResult(Proto.Header(r.Header), [.. r.Leases.Select(l => l.ID)]);
    }

    public async Task<LeaseKeepAliveResult> KeepAliveOnceAsync(long id, CancellationToken cancellationToken = default)
    {
        // Renewing is idempotent, so it is retried like a read.
        Api.LeaseKeepAliveResponse r = await connection.CallAsync(
            async (e, o) =>
            {
                using AsyncDuplexStreamingCall<Api.LeaseKeepAliveRequest, Api.LeaseKeepAliveResponse> call = e.Lease.LeaseKeepAlive(o);
                await call.RequestStream.WriteAsync(new Api.LeaseKeepAliveRequest { ID = id }, o.CancellationToken).ConfigureAwait(false);
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                if (!await call.ResponseStream.MoveNext(o.CancellationToken).ConfigureAwait(false))
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "keep-alive stream ended without a response"));
                }

                return call.ResponseStream.Current;
            },
            Retry.Read,
            cancellationToken).ConfigureAwait(false);
        if (r.TTL <= 0)
        {
            // etcd answers a keep-alive for an unknown lease with TTL 0, not with an error.
            throw new EtcdLeaseNotFoundException();
        }

        return new LeaseKeepAliveResult(Proto.Header(r.Header), r.ID, r.TTL);
    }

    public async Task<ILeaseKeepAlive> KeepAliveAsync(long id, CancellationToken cancellationToken = default)
    {
        LeaseKeepAliveResult first = await KeepAliveOnceAsync(id, cancellationToken).ConfigureAwait(false);
        return new LeaseKeepAlive(connection, id, first.TtlSeconds);
    }
}
