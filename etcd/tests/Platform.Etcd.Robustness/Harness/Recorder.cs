using System.Diagnostics;
using Platform.Etcd.Client;
using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>
/// Records client operations with call and return times (one monotonic clock for every client,
/// in <see cref="Stopwatch"/> ticks) and converts the client's results into the model's replies.
/// Thread-safe.
/// </summary>
internal sealed class Recorder
{
    private readonly Lock _lock = new();
    private readonly List<Operation> _operations = [];
    private int _nextId;
    private int _answered;

    public static double TicksPerMillisecond => Stopwatch.Frequency / 1000.0;

    /// <summary>Operations that got an answer so far.</summary>
    public int Answered => Volatile.Read(ref _answered);

    public IReadOnlyList<Operation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _operations];
        }
    }

    /// <summary>Runs <paramref name="call"/> and records it; errors and timeouts are recorded as unknown outcomes and rethrown.</summary>
    public async Task<KvResponse> RecordAsync(int clientId, KvOp request, Func<Task<KvResponse>> call)
    {
        int id = Interlocked.Increment(ref _nextId);
        long callTime = Stopwatch.GetTimestamp();
        KvResponse? response = null;
        try
        {
            response = await call();
            return response;
        }
        finally
        {
            long returnTime = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                _operations.Add(new Operation(id, clientId, callTime, returnTime, request, response));
            }

            if (response is not null)
            {
                Interlocked.Increment(ref _answered);
            }
        }
    }

    /// <summary>Sends <paramref name="request"/> through <paramref name="client"/> and returns the model's view of the answer.</summary>
    public static async Task<KvResponse> SendAsync(IEtcdClient client, KvOp request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case LeaseGrantOp grant:
                {
                    LeaseGrantResult result = await client.Lease.GrantAsync(600, grant.Lease, cancellationToken);
                    return new KvResponse(result.Header.Revision, LeaseReply.Instance);
                }

            case LeaseRevokeOp revoke:
                {
                    ResponseHeader header = await client.Lease.RevokeAsync(revoke.Lease, cancellationToken);
                    return new KvResponse(header.Revision, LeaseReply.Instance);
                }

            case TxnOp txn:
                {
                    TxnResult result = await client.Kv.TxnAsync(ToClientTxn(txn), cancellationToken);
                    return new KvResponse(result.Header.Revision, ToReply(result));
                }

            case RangeOp range:
                {
                    RangeResult result = await client.Kv.RangeAsync(ToRange(range.Key, range.Prefix), null, cancellationToken);
                    return new KvResponse(result.Header.Revision, ToReply(result));
                }

            case PutOp put:
                {
                    PutResult result = await client.Kv.PutAsync(Utf8(put.Key), Utf8(put.Value), put.Lease, false, cancellationToken);
                    return new KvResponse(result.Header.Revision, PutReply.Instance);
                }

            case DeleteOp delete:
                {
                    DeleteResult result = await client.Kv.DeleteAsync(ToRange(delete.Key, delete.Prefix), false, cancellationToken);
                    return new KvResponse(result.Header.Revision, new DeleteReply(result.Deleted));
                }

            default:
                throw new ArgumentException($"unsupported request {request}", nameof(request));
        }
    }

    private static Txn ToClientTxn(TxnOp txn)
    {
        Cmp[] compares = [.. txn.Compares.Select(c => c.Target switch
        {
            CompareTarget.Value when c.Value is null => Cmp.Version(c.Key, CmpResult.Equal, 0),
            CompareTarget.Value => Cmp.Value(c.Key, CmpResult.Equal, c.Value),
            CompareTarget.ModRevision => Cmp.ModRevision(c.Key, CmpResult.Equal, c.Number),
            _ => Cmp.Version(c.Key, CmpResult.Equal, c.Number),
        })];
        return Txn.If(compares).Then([.. txn.Then.Select(ToClientOp)]).Else([.. txn.Else.Select(ToClientOp)]);
    }

    private static Op ToClientOp(KvOp op) => op switch
    {
        RangeOp range => Op.Get(ToRange(range.Key, range.Prefix)),
        PutOp put => Op.Put(Utf8(put.Key), Utf8(put.Value), put.Lease),
        DeleteOp delete => Op.Delete(ToRange(delete.Key, delete.Prefix)),
        _ => throw new ArgumentException($"not a transaction operation: {op}", nameof(op)),
    };

    private static KvReply ToReply(OpResult result) => result switch
    {
        RangeResult range => new RangeReply([.. range.Kvs.Select(kv => new KvItem(kv.KeyString, kv.ValueString, kv.ModRevision, kv.CreateRevision, kv.Version, kv.Lease))]),
        PutResult => PutReply.Instance,
        DeleteResult delete => new DeleteReply(delete.Deleted),
        TxnResult txn => new TxnReply(txn.Succeeded, [.. txn.Responses.Select(ToReply)]),
        _ => throw new ArgumentException($"unexpected result {result}", nameof(result)),
    };

    private static KeyRange ToRange(string key, bool prefix) => prefix ? KeyRange.Prefix(key) : KeyRange.Single(key);

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
