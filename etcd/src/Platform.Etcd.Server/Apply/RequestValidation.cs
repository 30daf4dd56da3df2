using Google.Protobuf;
using Platform.Etcd.Api;

namespace Platform.Etcd.Server.Apply;

/// <summary>
/// etcd's request checks before proposing (etcdserver/api/v3rpc/key.go). The API layer runs
/// them too; running them here as well keeps in-process callers honest and costs little.
/// </summary>
internal static class RequestValidation
{
    public static void CheckRange(RangeRequest r)
    {
        if (!Enum.IsDefined(r.SortOrder) || !Enum.IsDefined(r.SortTarget))
        {
            throw new EtcdException(EtcdErrorCode.InvalidArgument, "etcdserver: invalid sort option");
        }
    }

    public static void CheckPut(PutRequest r)
    {
        if (r.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey;
        }

        if (r.IgnoreValue && !r.Value.IsEmpty)
        {
            throw EtcdErrors.ValueProvided;
        }

        if (r.IgnoreLease && r.Lease != 0)
        {
            throw EtcdErrors.LeaseProvided;
        }
    }

    public static void CheckDelete(DeleteRangeRequest r)
    {
        if (r.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey;
        }
    }

    public static void CheckTxn(TxnRequest r, int maxTxnOps)
    {
        CheckTxnOps(r, maxTxnOps);
        CheckIntervals(r.Success);
        CheckIntervals(r.Failure);
    }

    private static void CheckTxnOps(TxnRequest r, int maxTxnOps)
    {
        int opc = Math.Max(r.Compare.Count, Math.Max(r.Success.Count, r.Failure.Count));
        if (opc > maxTxnOps)
        {
            throw EtcdErrors.TooManyOps;
        }

        if (r.Compare.Any(c => c.Key.IsEmpty))
        {
            throw EtcdErrors.EmptyKey;
        }

        foreach (RequestOp op in r.Success.Concat(r.Failure))
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    CheckRange(op.RequestRange);
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    CheckPut(op.RequestPut);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    CheckDelete(op.RequestDeleteRange);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    CheckTxnOps(op.RequestTxn, maxTxnOps - opc);
                    break;
                default:
                    // An empty op: etcd answers "key not found".
                    throw EtcdErrors.KeyNotFound;
            }
        }
    }

    /// <summary>
    /// etcd's checkIntervals: a key may be put at most once, and not also deleted, on any path
    /// through the transaction (then and else branches of a nested txn may put the same key).
    /// </summary>
    private static (HashSet<ByteString> Puts, List<(ByteString Key, ByteString End)> Deletes) CheckIntervals(IEnumerable<RequestOp> ops)
    {
        var deletes = new List<(ByteString Key, ByteString End)>();
        var list = ops.ToList();
        foreach (RequestOp op in list.Where(o => o.RequestCase == RequestOp.RequestOneofCase.RequestDeleteRange))
        {
            deletes.Add((op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd));
        }

        var puts = new HashSet<ByteString>();
        foreach (RequestOp op in list.Where(o => o.RequestCase == RequestOp.RequestOneofCase.RequestTxn))
        {
            (HashSet<ByteString> putsThen, List<(ByteString, ByteString)> delsThen) = CheckIntervals(op.RequestTxn.Success);
            (HashSet<ByteString> putsElse, List<(ByteString, ByteString)> delsElse) = CheckIntervals(op.RequestTxn.Failure);
            foreach (ByteString k in putsThen)
            {
                if (puts.Contains(k) || Intersects(deletes, k))
                {
                    throw EtcdErrors.DuplicateKey;
                }

                puts.Add(k);
            }

            foreach (ByteString k in putsElse)
            {
                if ((puts.Contains(k) && !putsThen.Contains(k)) || Intersects(deletes, k))
                {
                    throw EtcdErrors.DuplicateKey;
                }

                puts.Add(k);
            }

            deletes.AddRange(delsThen);
            deletes.AddRange(delsElse);
        }

        foreach (RequestOp op in list.Where(o => o.RequestCase == RequestOp.RequestOneofCase.RequestPut))
        {
            ByteString k = op.RequestPut.Key;
            if (puts.Contains(k) || Intersects(deletes, k))
            {
                throw EtcdErrors.DuplicateKey;
            }

            puts.Add(k);
        }

        return (puts, deletes);
    }

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
            else if (key.Span.SequenceCompareTo(start.Span) >= 0 && (end.Span is [0] || key.Span.SequenceCompareTo(end.Span) < 0))
            {
                return true;
            }
        }

        return false;
    }
}
