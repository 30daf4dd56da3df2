
namespace Platform.Etcd.Client.Internal;

internal sealed class KvClient(Connection connection) : IKvClient
{
    private static readonly RangeOptions s_defaults = new();

    public Task<RangeResult> GetAsync(byte[] key, CancellationToken cancellationToken = default) =>
        RangeAsync(KeyRange.Single(key), null, cancellationToken);

    public Task<RangeResult> GetPrefixAsync(byte[] prefix, CancellationToken cancellationToken = default) =>
        RangeAsync(KeyRange.Prefix(prefix), null, cancellationToken);

    public async Task<RangeResult> RangeAsync(KeyRange range, RangeOptions? options = null, CancellationToken cancellationToken = default)
    {
        Api.RangeRequest request = Proto.Range(range, options ?? s_defaults);
        Api.RangeResponse response = await connection.CallAsync(
            (e, o) => e.Kv.RangeAsync(request, o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return Proto.Range(response);
    }

    public async Task<PutResult> PutAsync(byte[] key, byte[] value, long lease = 0, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        Api.PutRequest request = Proto.Put(key, value, lease, prevKv);
        Api.PutResponse response = await connection.CallAsync(
            (e, o) => e.Kv.PutAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return Proto.Put(response);
    }

    public async Task<DeleteResult> DeleteAsync(KeyRange range, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        Api.DeleteRangeRequest request = Proto.Delete(range, prevKv);
        Api.DeleteRangeResponse response = await connection.CallAsync(
            (e, o) => e.Kv.DeleteRangeAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return Proto.Delete(response);
    }

    public async Task<TxnResult> TxnAsync(Txn txn, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(txn);
        Api.TxnRequest request = txn.ToProto();
        // A transaction whose branches only read is a read and may be retried like one.
        Retry retry = request.Success.Concat(request.Failure).All(IsRead) ? Retry.Read : Retry.Write;
        Api.TxnResponse response = await connection.CallAsync(
            (e, o) => e.Kv.TxnAsync(request, o).ResponseAsync, retry, cancellationToken).ConfigureAwait(false);
        return Proto.Txn(response);
    }

    public async Task<ResponseHeader> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default)
    {
        var request = new Api.CompactionRequest { Revision = revision, Physical = physical };
        Api.CompactionResponse response = await connection.CallAsync(
            (e, o) => e.Kv.CompactAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return Proto.Header(response.Header);
    }

    private static bool IsRead(Api.RequestOp op) => op.RequestCase switch
    {
        Api.RequestOp.RequestOneofCase.RequestRange => true,
        Api.RequestOp.RequestOneofCase.RequestTxn => op.RequestTxn.Success.Concat(op.RequestTxn.Failure).All(IsRead),
        _ => false,
    };
}

