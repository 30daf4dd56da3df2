using Google.Protobuf;
using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Lock;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>
/// etcd's v3lock service (etcdserver/api/v3lock), built like etcd's on the KV and Watch calls of
/// the local server (clientv3/concurrency's Mutex): the lock key is <c>name/&lt;lease hex&gt;</c>,
/// created with the caller's lease; the owner is the key with the lowest create revision; a waiter
/// watches the next older key until it is deleted. Unlock deletes the key.
/// </summary>
internal sealed class LockService : Api.Lock.Lock.LockBase
{
    private readonly IEtcdServer _server;

    public LockService(IEtcdServer server)
    {
        _server = server;
    }

    public override Task<LockResponse> Lock(LockRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, LockCore);

    public override Task<UnlockResponse> Unlock(UnlockRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, UnlockCore);

    public async ValueTask<LockResponse> LockCore(LockRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ByteString prefix = Concurrency.Prefix(request.Name);
        ByteString myKey = Concurrency.LeaseKey(prefix, request.Lease);
        ByteString prefixEnd = Concurrency.PrefixEnd(prefix);
        RangeRequest owner = Concurrency.FirstCreated(prefix);
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = myKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = myKey, Lease = request.Lease } }, new RequestOp { RequestRange = owner } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = myKey } }, new RequestOp { RequestRange = owner } },
        };
        TxnResponse response = await _server.TxnAsync(txn, context, cancellationToken).ConfigureAwait(false);
        long myRevision = response.Succeeded ? response.Header.Revision : response.Responses[0].ResponseRange.Kvs[0].CreateRevision;
        Google.Protobuf.Collections.RepeatedField<Api.Mvcc.KeyValue> ownerKvs = response.Responses[1].ResponseRange.Kvs;
        ResponseHeader header = response.Header;
        if (ownerKvs.Count != 0 && ownerKvs[0].CreateRevision != myRevision)
        {
            try
            {
                header = await Concurrency.WaitDeletesAsync(_server, prefix, prefixEnd, myRevision - 1, context, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Give the place up (etcd's Mutex unlocks when the wait fails).
                await _server.DeleteRangeAsync(new DeleteRangeRequest { Key = myKey }, context, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }

        return new LockResponse { Header = header, Key = myKey };
    }

    public async ValueTask<UnlockResponse> UnlockCore(UnlockRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        DeleteRangeResponse deleted = await _server.DeleteRangeAsync(new DeleteRangeRequest { Key = request.Key }, context, cancellationToken).ConfigureAwait(false);
        return new UnlockResponse { Header = deleted.Header };
    }
}
