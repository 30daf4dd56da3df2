using Google.Protobuf;
using Platform.Etcd.Api;

namespace Platform.Etcd.Grpc.Services;

/// <summary>
/// etcd's request validation before anything reaches the server (v3rpc/key.go: checkRangeRequest,
/// checkPutRequest, checkTxnRequest with checkIntervals), plus the size limit the server applies
/// to proposals (etcdserver.ErrRequestTooLarge). Each check throws the matching rpctypes error.
/// </summary>
internal sealed class RequestChecks
{
    /// <summary>etcd lets a gRPC message exceed --max-request-bytes by this much (v3rpc/grpc.go grpcOverheadBytes).</summary>
    public const long GrpcOverheadBytes = 512 * 1024;

    private readonly long _maxRequestBytes;
    private readonly int _maxTxnOps;

    public RequestChecks(long maxRequestBytes, int maxTxnOps)
    {
        _maxRequestBytes = maxRequestBytes;
        _maxTxnOps = maxTxnOps;
    }

    /// <summary>The largest message the gRPC server receives.</summary>
    public long MaxGrpcMessageBytes => _maxRequestBytes + GrpcOverheadBytes;

    public static void Range(RangeRequest request)
    {
        if (request.Key.IsEmpty)
        {
            throw RpcErrors.EmptyKey;
        }
    }

    public static void Put(PutRequest request)
    {
        if (request.Key.IsEmpty)
        {
            throw RpcErrors.EmptyKey;
        }

        if (request.IgnoreValue && !request.Value.IsEmpty)
        {
            throw RpcErrors.ValueProvided;
        }

        if (request.IgnoreLease && request.Lease != 0)
        {
            throw RpcErrors.LeaseProvided;
        }
    }

    public static void DeleteRange(DeleteRangeRequest request)
    {
        if (request.Key.IsEmpty)
        {
            throw RpcErrors.EmptyKey;
        }
    }

    /// <summary>etcd checks op counts and keys first, then that no key is written twice.</summary>
    public void Txn(TxnRequest request)
    {
        TxnOps(request, _maxTxnOps);
        _ = Intervals(request.Success);
        _ = Intervals(request.Failure);
    }

    /// <summary>
    /// A proposal larger than <c>--max-request-bytes</c> is refused. etcd measures the raft entry
    /// (the request wrapped in an InternalRaftRequest with a small header); the request alone is
    /// within a few bytes of it.
    /// </summary>
    public void Size(IMessage request)
    {
        if (request.CalculateSize() > _maxRequestBytes)
        {
            throw RpcErrors.RequestTooLarge;
        }
    }

    /// <summary>
    /// The gateway reaches the services without gRPC's receive limit; etcd's gateway goes through
    /// gRPC and gets grpc-go's refusal, so the same words are produced here.
    /// </summary>
    public void GrpcMessageSize(IMessage request)
    {
        int size = request.CalculateSize();
        if (size > MaxGrpcMessageBytes)
        {
            throw RpcErrors.New(global::Grpc.Core.StatusCode.ResourceExhausted, $"grpc: received message larger than max ({size} vs. {MaxGrpcMessageBytes})");
        }
    }

    private static void TxnOps(TxnRequest request, int maxTxnOps)
    {
        int opCount = Math.Max(request.Compare.Count, Math.Max(request.Success.Count, request.Failure.Count));
        if (opCount > maxTxnOps)
        {
            throw RpcErrors.TooManyOps;
        }

        foreach (Compare compare in request.Compare)
        {
            if (compare.Key.IsEmpty)
            {
                throw RpcErrors.EmptyKey;
            }
        }

        foreach (RequestOp op in request.Success)
        {
            RequestOpCheck(op, maxTxnOps - opCount);
        }

        foreach (RequestOp op in request.Failure)
        {
            RequestOpCheck(op, maxTxnOps - opCount);
        }
    }

    private static void RequestOpCheck(RequestOp op, int maxTxnOps)
    {
        switch (op.RequestCase)
        {
            case RequestOp.RequestOneofCase.RequestRange:
                Range(op.RequestRange);
                break;
            case RequestOp.RequestOneofCase.RequestPut:
                Put(op.RequestPut);
                break;
            case RequestOp.RequestOneofCase.RequestDeleteRange:
                DeleteRange(op.RequestDeleteRange);
                break;
            case RequestOp.RequestOneofCase.RequestTxn:
                TxnOps(op.RequestTxn, maxTxnOps);
                break;
            default:
                // An empty op: etcd answers "key not found".
                throw RpcErrors.KeyNotFound;
        }
    }

    // etcd's checkIntervals: puts at one level must not repeat a key or fall inside a delete of
    // that level or of an enclosing one; then and else branches of a nested txn may write the
    // same key (only one runs). Returns the puts and deletes for the enclosing level.
    private static (HashSet<ByteString> Puts, List<(ByteString Key, ByteString End)> Deletes) Intervals(IEnumerable<RequestOp> ops)
    {
        var deletes = new List<(ByteString Key, ByteString End)>();
        foreach (RequestOp op in ops)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestDeleteRange)
            {
                deletes.Add((op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd));
            }
        }

        var puts = new HashSet<ByteString>();
        foreach (RequestOp op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestTxn)
            {
                continue;
            }

            (HashSet<ByteString> putsThen, List<(ByteString, ByteString)> deletesThen) = Intervals(op.RequestTxn.Success);
            (HashSet<ByteString> putsElse, List<(ByteString, ByteString)> deletesElse) = Intervals(op.RequestTxn.Failure);
            foreach (ByteString key in putsThen)
            {
                if (!puts.Add(key) || Intersects(deletes, key))
                {
                    throw RpcErrors.DuplicateKey;
                }
            }

            foreach (ByteString key in putsElse)
            {
                if ((puts.Contains(key) && !putsThen.Contains(key)) || Intersects(deletes, key))
                {
                    throw RpcErrors.DuplicateKey;
                }

                puts.Add(key);
            }

            deletes.AddRange(deletesThen);
            deletes.AddRange(deletesElse);
        }

        foreach (RequestOp op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestPut)
            {
                continue;
            }

            ByteString key = op.RequestPut.Key;
            if (!puts.Add(key) || Intersects(deletes, key))
            {
                throw RpcErrors.DuplicateKey;
            }
        }

        return (puts, deletes);
    }

    // etcd's affine intervals: an empty end is the single key; "\0" as end means "to infinity".
    private static bool Intersects(List<(ByteString Key, ByteString End)> deletes, ByteString key)
    {
        foreach ((ByteString start, ByteString end) in deletes)
        {
            if (end.IsEmpty)
            {
                if (start.Equals(key))
                {
                    return true;
                }
            }
            else if (Compare(key, start) >= 0 && (IsInfinity(end) || Compare(key, end) < 0))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsInfinity(ByteString end) => end.Length == 1 && end[0] == 0;

    private static int Compare(ByteString a, ByteString b) => a.Span.SequenceCompareTo(b.Span);
}
