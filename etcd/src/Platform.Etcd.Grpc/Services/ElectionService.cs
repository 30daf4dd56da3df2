using Google.Protobuf;
using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Election;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>
/// etcd's v3election service (etcdserver/api/v3election) on the local server's KV and Watch,
/// as clientv3/concurrency's Election: a candidate's key is <c>name/&lt;lease hex&gt;</c> holding
/// its value; the leader is the oldest key under <c>name/</c>. Errors use concurrency's texts
/// ("election: not leader", "election: no leader"), which etcd sends as Unknown.
/// </summary>
internal sealed class ElectionService : Api.Election.Election.ElectionBase
{
    private readonly IEtcdServer _server;

    public ElectionService(IEtcdServer server)
    {
        _server = server;
    }

    public override Task<CampaignResponse> Campaign(CampaignRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, CampaignCore);

    public override Task<ProclaimResponse> Proclaim(ProclaimRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, ProclaimCore);

    public override Task<LeaderResponse> Leader(LeaderRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, LeaderCore);

    public override Task<ResignResponse> Resign(ResignRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, ResignCore);

    public override async Task Observe(LeaderRequest request, IServerStreamWriter<LeaderResponse> responseStream, ServerCallContext context)
    {
        try
        {
            await ObserveAsync(request, CallContexts.FromGrpc(context), (r, ct) => responseStream.WriteAsync(r, ct), context.CancellationToken).ConfigureAwait(false);
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

    public async ValueTask<CampaignResponse> CampaignCore(CampaignRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ByteString prefix = Concurrency.Prefix(request.Name);
        ByteString key = Concurrency.LeaseKey(prefix, request.Lease);
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = request.Value, Lease = request.Lease } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = key } } },
        };
        TxnResponse response = await _server.TxnAsync(txn, context, cancellationToken).ConfigureAwait(false);
        long revision = response.Header.Revision;
        if (!response.Succeeded)
        {
            KeyValue existing = response.Responses[0].ResponseRange.Kvs[0];
            revision = existing.CreateRevision;
            if (!existing.Value.Equals(request.Value))
            {
                await ProclaimCore(new ProclaimRequest { Leader = new LeaderKey { Name = request.Name, Key = key, Rev = revision, Lease = request.Lease }, Value = request.Value }, context, cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            await Concurrency.WaitDeletesAsync(_server, prefix, Concurrency.PrefixEnd(prefix), revision - 1, context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Resign on cancellation, as concurrency's Campaign does.
            await ResignKeyAsync(key, revision, context).ConfigureAwait(false);
            throw;
        }

        return new CampaignResponse
        {
            Header = response.Header,
            Leader = new LeaderKey { Name = request.Name, Key = key, Rev = revision, Lease = request.Lease },
        };
    }

    public async ValueTask<ProclaimResponse> ProclaimCore(ProclaimRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        LeaderKey leader = request.Leader ?? throw new EtcdException(EtcdErrorCode.Unknown, "\"leader\" field must be provided");
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = leader.Key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = leader.Rev } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = leader.Key, Value = request.Value, Lease = leader.Lease } } },
        };
        TxnResponse response = await _server.TxnAsync(txn, context, cancellationToken).ConfigureAwait(false);
        return response.Succeeded ? new ProclaimResponse { Header = response.Header } : throw new EtcdException(EtcdErrorCode.Unknown, "election: not leader");
    }

    public async ValueTask<LeaderResponse> LeaderCore(LeaderRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        RangeResponse response = await _server.RangeAsync(Concurrency.FirstCreated(Concurrency.Prefix(request.Name)), context, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0
            ? throw new EtcdException(EtcdErrorCode.Unknown, "election: no leader")
            : new LeaderResponse { Header = response.Header, Kv = response.Kvs[0] };
    }

    public async ValueTask<ResignResponse> ResignCore(ResignRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        LeaderKey leader = request.Leader ?? throw new EtcdException(EtcdErrorCode.Unknown, "\"leader\" field must be provided");
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = leader.Key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = leader.Rev } },
            Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = leader.Key } } },
        };
        TxnResponse response = await _server.TxnAsync(txn, context, cancellationToken).ConfigureAwait(false);
        return new ResignResponse { Header = response.Header };
    }

    /// <summary>
    /// concurrency's observe: the current leader, then each new value of its key; when the key is
    /// deleted, the next leader (waiting for a first candidate when there is none).
    /// </summary>
    public async Task ObserveAsync(LeaderRequest request, RequestContext context, Func<LeaderResponse, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        ByteString prefix = Concurrency.Prefix(request.Name);
        while (true)
        {
            RangeResponse current = await _server.RangeAsync(Concurrency.FirstCreated(prefix), context, cancellationToken).ConfigureAwait(false);
            KeyValue leader;
            ResponseHeader header;
            if (current.Kvs.Count == 0)
            {
                (header, leader) = await FirstPutAsync(prefix, current.Header.Revision, context, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                (header, leader) = (current.Header, current.Kvs[0]);
            }

            await send(new LeaderResponse { Header = header, Kv = leader }, cancellationToken).ConfigureAwait(false);
            await FollowUntilDeletedAsync(leader.Key, header.Revision + 1, context, send, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(ResponseHeader Header, KeyValue Kv)> FirstPutAsync(ByteString prefix, long revision, RequestContext context, CancellationToken cancellationToken)
    {
        IWatchStream stream = _server.OpenWatchStream(context);
        await using (stream.ConfigureAwait(false))
        {
            await stream.HandleAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = prefix, RangeEnd = Concurrency.PrefixEnd(prefix), StartRevision = revision } }, cancellationToken).ConfigureAwait(false);
            await foreach (WatchResponse response in stream.Responses.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Event? put = response.Events.FirstOrDefault(e => e.Type == Event.Types.EventType.Put);
                if (put is not null)
                {
                    ResponseHeader header = response.Header.Clone();
                    header.Revision = put.Kv.ModRevision;
                    return (header, put.Kv);
                }
            }
        }

        throw new OperationCanceledException(cancellationToken);
    }

    private async Task FollowUntilDeletedAsync(ByteString key, long revision, RequestContext context, Func<LeaderResponse, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        IWatchStream stream = _server.OpenWatchStream(context);
        await using (stream.ConfigureAwait(false))
        {
            await stream.HandleAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key, StartRevision = revision } }, cancellationToken).ConfigureAwait(false);
            await foreach (WatchResponse response in stream.Responses.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (Event e in response.Events)
                {
                    if (e.Type == Event.Types.EventType.Delete)
                    {
                        return;
                    }

                    await send(new LeaderResponse { Header = response.Header, Kv = e.Kv }, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task ResignKeyAsync(ByteString key, long revision, RequestContext context)
    {
        await ResignCore(new ResignRequest { Leader = new LeaderKey { Key = key, Rev = revision } }, context, CancellationToken.None).ConfigureAwait(false);
    }
}
