using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>etcd's Lease service (v3rpc/lease.go).</summary>
internal sealed class LeaseService : Lease.LeaseBase
{
    private readonly IEtcdServer _server;
    private readonly RequestChecks _checks;

    public LeaseService(IEtcdServer server, RequestChecks checks)
    {
        _server = server;
        _checks = checks;
    }

    public override Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, LeaseGrantCore);

    public override Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.LeaseRevokeAsync);

    public override Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.LeaseTimeToLiveAsync);

    public override Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.LeaseLeasesAsync);

    public override async Task LeaseKeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        Calls.RequireLeader(context, _server);
        try
        {
            await KeepAliveAsync(
                CallContexts.FromGrpc(context),
                async ct => await requestStream.MoveNext(ct).ConfigureAwait(false) ? requestStream.Current : null,
                (response, ct) => responseStream.WriteAsync(response, ct),
                context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw RpcErrors.From(e);
        }
    }

    public ValueTask<LeaseGrantResponse> LeaseGrantCore(LeaseGrantRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        _checks.Size(request);
        return _server.LeaseGrantAsync(request, context, cancellationToken);
    }

    /// <summary>
    /// One renewal per request, answered in order; a lease that is gone answers TTL 0 (the server's
    /// contract). The stream ends when the client ends its side, as etcd's leaseKeepAlive.
    /// </summary>
    public async Task KeepAliveAsync(
        RequestContext requestContext,
        Func<CancellationToken, Task<LeaseKeepAliveRequest?>> receive,
        Func<LeaseKeepAliveResponse, CancellationToken, Task> send,
        CancellationToken cancellationToken)
    {
        while (await receive(cancellationToken).ConfigureAwait(false) is { } request)
        {
            LeaseKeepAliveResponse response = await _server.LeaseRenewAsync(request, requestContext, cancellationToken).ConfigureAwait(false);
            await send(response, cancellationToken).ConfigureAwait(false);
        }
    }
}
