using Platform.Etcd.Api;

namespace Platform.Etcd.Server.Apply;

/// <summary>
/// What a request costs against the backend quota, as etcd's backendQuota estimates it before
/// proposing (etcdserver/quota.go): a put is 256 bytes of key metadata plus its key and value, a
/// lease grant 64 bytes, a transaction the larger of its two branches' puts.
/// </summary>
/// <remarks>
/// Beyond etcd 3.4, which counts only a branch's top-level puts: the puts of nested transactions
/// count too (in the larger of their own branches), so a nested put cannot slip past the
/// estimate and fail only at apply.
/// </remarks>
internal static class QuotaCost
{
    /// <summary>etcd's kvOverhead: the estimated cost of a key's metadata.</summary>
    public const int KvOverheadBytes = 256;

    /// <summary>etcd's leaseOverhead: the estimated cost of storing a lease.</summary>
    public const int LeaseOverheadBytes = 64;

    public static long Put(PutRequest put) => KvOverheadBytes + put.Key.Length + put.Value.Length;

    public static long Txn(TxnRequest txn) => Math.Max(Branch(txn.Success), Branch(txn.Failure));

    private static long Branch(IEnumerable<RequestOp> ops)
    {
        long cost = 0;
        foreach (RequestOp op in ops)
        {
            cost += op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestPut => Put(op.RequestPut),
                RequestOp.RequestOneofCase.RequestTxn => Txn(op.RequestTxn),
                _ => 0,
            };
        }

        return cost;
    }
}
