using Platform.Etcd.Api;
using Platform.Etcd.Api.Authpb;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    public async ValueTask<RangeResponse> RangeAsync(RangeRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequestValidation.CheckRange(request);
        (string user, ulong revision) = _auth.Identify(context);
        _auth.CheckPermitted(user, revision, request.Key, request.RangeEnd, Permission.Types.Type.Read);
        if (!request.Serializable)
        {
            await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        }

        using IReadTxn txn = _kv.Read();
        RangeResponse response = KvOps.Range(txn, request);
        response.Header = NewHeader(response.Header.Revision);
        return response;
    }

    public async ValueTask<PutResponse> PutAsync(PutRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestValidation.CheckPut(request);
        await CheckQuotaAsync(QuotaCost.Put(request), cancellationToken).ConfigureAwait(false);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { Put = request }, context, cancellationToken).ConfigureAwait(false);
        var response = (PutResponse)result.Response!;
        response.Header = NewHeader(response.Header.Revision);
        return response;
    }

    public async ValueTask<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestValidation.CheckDelete(request);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { DeleteRange = request }, context, cancellationToken).ConfigureAwait(false);
        var response = (DeleteRangeResponse)result.Response!;
        response.Header = NewHeader(response.Header.Revision);
        return response;
    }

    public async ValueTask<TxnResponse> TxnAsync(TxnRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequestValidation.CheckTxn(request, _options.MaxTxnOps);
        TxnResponse response;
        if (KvOps.IsReadOnly(request))
        {
            // Served locally like a range: linearizable unless every range in it is serializable.
            (string user, ulong revision) = _auth.Identify(context);
            _auth.CheckTxnPermitted(user, revision, request);
            if (!IsSerializable(request))
            {
                await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
            }

            using IReadTxn txn = _kv.Read();
            response = KvOps.Txn(txn, request, _lessor, _kv.CompactedRevision);
        }
        else
        {
            if (HasPuts(request))
            {
                await CheckQuotaAsync(QuotaCost.Txn(request), cancellationToken).ConfigureAwait(false);
            }

            ApplyResult result = await ProposeAsync(new InternalRaftRequest { Txn = request }, context, cancellationToken).ConfigureAwait(false);
            response = (TxnResponse)result.Response!;
        }

        FillHeaders(response);
        return response;
    }

    public async ValueTask<CompactionResponse> CompactAsync(CompactionRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { Compaction = request }, context, cancellationToken).ConfigureAwait(false);
        if (request.Physical && result.Physical is Task physical)
        {
            await physical.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var response = (CompactionResponse)result.Response!;
        response.Header = NewHeader(response.Header.Revision);
        return response;
    }

    /// <summary>
    /// etcd's quotaKVServer: a request whose estimated cost (<see cref="QuotaCost"/>) does not fit
    /// in the quota next to the backend and its uncommitted batches is refused before it is
    /// proposed, and raises the NOSPACE alarm (through raft) if it is not raised yet.
    /// </summary>
    private async ValueTask CheckQuotaAsync(long costBytes, CancellationToken cancellationToken)
    {
        long quota = _options.QuotaBackendBytes == 0 ? MvccOptions.DefaultQuotaBackendBytes : _options.QuotaBackendBytes;
        if (quota < 0 || _kv.QuotaUsedBytes + costBytes < quota)
        {
            return;
        }

        if (!_alarms.Has(AlarmType.Nospace))
        {
            var alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, MemberID = MemberId, Alarm = AlarmType.Nospace };
            await ProposeAsync(new InternalRaftRequest { Alarm = alarm }, null, cancellationToken).ConfigureAwait(false);
        }

        throw EtcdErrors.NoSpace;
    }

    private static bool IsSerializable(TxnRequest r) =>
        r.Success.Concat(r.Failure).All(op => op.RequestCase switch
        {
            RequestOp.RequestOneofCase.RequestRange => op.RequestRange.Serializable,
            RequestOp.RequestOneofCase.RequestTxn => IsSerializable(op.RequestTxn),
            _ => true,
        });

    // Only the top-level header carries the member fields; etcd leaves sub-responses with their revision alone.
    private void FillHeaders(TxnResponse response) => response.Header = NewHeader(response.Header?.Revision ?? 0);
}
