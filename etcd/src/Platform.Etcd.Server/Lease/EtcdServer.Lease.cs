using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Lease;
using Platform.Etcd.Server.Proto;

using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    // etcd revokes at most leaseRevokeRate (1,000/s) expired leases; checked every 500 ms.
    private const int RevokesPerCheck = 500;
    private static readonly TimeSpan s_leaseCheckInterval = TimeSpan.FromMilliseconds(500);
    private ITimer? _leaseTimer;

    public async ValueTask<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.TTL > Lessor.MaxLeaseTtlSeconds)
        {
            throw EtcdErrors.LeaseTtlTooLarge;
        }

        var grant = request.Clone();
        while (grant.ID == 0)
        {
            // Positive ids from the request id generator, as etcd.
            grant.ID = (long)(_ids.Next() & long.MaxValue);
        }

        await CheckQuotaAsync(QuotaCost.LeaseOverheadBytes, cancellationToken).ConfigureAwait(false);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { LeaseGrant = grant }, context, cancellationToken).ConfigureAwait(false);
        var response = (LeaseGrantResponse)result.Response!;
        response.Header = NewHeader();
        return response;
    }

    public async ValueTask<LeaseRevokeResponse> LeaseRevokeAsync(LeaseRevokeRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { LeaseRevoke = request }, context, cancellationToken).ConfigureAwait(false);
        var response = (LeaseRevokeResponse)result.Response!;
        response.Header = NewHeader(response.Header?.Revision ?? 0);
        return response;
    }

    public async ValueTask<LeaseKeepAliveResponse> LeaseRenewAsync(LeaseKeepAliveRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfUnavailable();
        if (!IsLeader)
        {
            // Only the leader's lessor keeps expiry times (etcd forwards keep-alives to it over the peer URL).
            LeaseKeepAliveResponse forwarded = await ForwardToLeaderAsync(LeaseKeepAliveKind, request, LeaseKeepAliveResponse.Parser, cancellationToken).ConfigureAwait(false);
            forwarded.Header = NewHeader();
            return forwarded;
        }

        // A lease granted by an entry not yet applied here would look missing: catch up first.
        await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        long ttl;
        try
        {
            ttl = _lessor.Renew(request.ID);
        }
        catch (EtcdException e) when (e.Code == EtcdErrorCode.NotFound)
        {
            ttl = 0;
        }

        return new LeaseKeepAliveResponse { Header = NewHeader(), ID = request.ID, TTL = ttl };
    }

    public async ValueTask<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsLeader && Leader != 0)
        {
            LeaseTimeToLiveResponse forwarded = await ForwardToLeaderAsync(LeaseTimeToLiveKind, request, LeaseTimeToLiveResponse.Parser, cancellationToken).ConfigureAwait(false);
            forwarded.Header = NewHeader();
            return forwarded;
        }

        await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        var response = new LeaseTimeToLiveResponse { Header = NewHeader(), ID = request.ID, TTL = -1 };
        if (_lessor.TimeToLive(request.ID) is { } info)
        {
            response.TTL = info.RemainingTtl;
            response.GrantedTTL = info.GrantedTtl;
            if (request.Keys)
            {
                response.Keys.AddRange(info.Keys);
            }
        }

        return response;
    }

    public async ValueTask<LeaseLeasesResponse> LeaseLeasesAsync(LeaseLeasesRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        var response = new LeaseLeasesResponse { Header = NewHeader() };
        response.Leases.AddRange(_lessor.Leases().Select(id => new LeaseStatus { ID = id }));
        return response;
    }

    /// <summary>The leader proposes revokes for expired leases (etcd's revokeExpiredLeases).</summary>
    private void CheckExpiredLeases()
    {
        if (Volatile.Read(ref _disposed) != 0 || !IsLeader)
        {
            return;
        }

        ServerMetrics.Leases.Set(_lessor.Leases().Count);
        foreach (long id in _lessor.TakeExpired(RevokesPerCheck))
        {
            _ = RevokeExpiredAsync(id);
        }
    }

    private async Task RevokeExpiredAsync(long id)
    {
        try
        {
            await ProposeAsync(new InternalRaftRequest { LeaseRevoke = new LeaseRevokeRequest { ID = id } }, null, _stopping.Token).ConfigureAwait(false);
            _logger.LogDebug("lessor: revoked expired lease {LeaseId:x}", id);
        }
        catch (Exception e) when (e is EtcdException or OperationCanceledException)
        {
            // Retried after etcd's 3 s if the lease is still there.
            _logger.LogDebug(e, "lessor: revoking expired lease {LeaseId:x} failed", id);
        }
    }

    private void StartLeaseLoop() =>
        _leaseTimer = _time.CreateTimer(_ => CheckExpiredLeases(), null, s_leaseCheckInterval, s_leaseCheckInterval);
}
