using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>etcd's KV service (v3rpc/key.go): validate, call <see cref="IKvServer"/>, translate errors.</summary>
internal sealed class KvService : KV.KVBase
{
    private readonly IEtcdServer _server;
    private readonly RequestChecks _checks;

    // Bound once: a method group passed per call is a new delegate per request.
    private readonly Func<RangeRequest, RequestContext, CancellationToken, ValueTask<RangeResponse>> _range;
    private readonly Func<PutRequest, RequestContext, CancellationToken, ValueTask<PutResponse>> _put;

    public KvService(IEtcdServer server, RequestChecks checks)
    {
        _server = server;
        _checks = checks;
        _range = RangeCore;
        _put = PutCore;
    }

    public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _range);

    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _put);

    public override Task<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, DeleteRangeCore);

    public override Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, TxnCore);

    public override Task<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, CompactCore);

    public ValueTask<RangeResponse> RangeCore(RangeRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        RequestChecks.Range(request);
        return _server.RangeAsync(request, context, cancellationToken);
    }

    public ValueTask<PutResponse> PutCore(PutRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        RequestChecks.Put(request);
        _checks.Size(request);
        return _server.PutAsync(request, context, cancellationToken);
    }

    public ValueTask<DeleteRangeResponse> DeleteRangeCore(DeleteRangeRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        RequestChecks.DeleteRange(request);
        _checks.Size(request);
        return _server.DeleteRangeAsync(request, context, cancellationToken);
    }

    public ValueTask<TxnResponse> TxnCore(TxnRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        _checks.Txn(request);
        _checks.Size(request);
        return _server.TxnAsync(request, context, cancellationToken);
    }

    public ValueTask<CompactionResponse> CompactCore(CompactionRequest request, RequestContext context, CancellationToken cancellationToken) =>
        _server.CompactAsync(request, context, cancellationToken);
}
