using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>etcd's Maintenance service (v3rpc/maintenance.go).</summary>
internal sealed class MaintenanceService : Maintenance.MaintenanceBase
{
    private readonly IEtcdServer _server;

    public MaintenanceService(IEtcdServer server)
    {
        _server = server;
    }

    public override Task<AlarmResponse> Alarm(AlarmRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.AlarmAsync);

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.StatusAsync);

    public override Task<DefragmentResponse> Defragment(DefragmentRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.DefragmentAsync);

    public override Task<HashResponse> Hash(HashRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.HashAsync);

    public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.HashKVAsync);

    public override Task<MoveLeaderResponse> MoveLeader(MoveLeaderRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.MoveLeaderAsync);

    public override Task<DowngradeResponse> Downgrade(DowngradeRequest request, ServerCallContext context) =>
        throw RpcErrors.New(StatusCode.Unimplemented, "unknown method Downgrade for service etcdserverpb.Maintenance");

    public override async Task Snapshot(SnapshotRequest request, IServerStreamWriter<SnapshotResponse> responseStream, ServerCallContext context)
    {
        Calls.RequireLeader(context, _server);
        try
        {
            await foreach (SnapshotResponse chunk in _server.SnapshotAsync(request, CallContexts.FromGrpc(context), context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(chunk, context.CancellationToken).ConfigureAwait(false);
            }
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
}
