using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Server.Lease;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Server.Apply;

/// <summary>
/// etcd's applierV3backend for the KV requests (etcdserver/apply.go): Range with sorting and
/// filters done here, Put/DeleteRange with prev_kv and lease attachment, Txn with compares and
/// nested transactions applied in one MVCC write transaction (one revision). Stateless; the
/// caller supplies the transaction and the lessor.
/// </summary>
internal static class KvOps
{
    public static RangeResponse Range(IReadTxn txn, RangeRequest r)
    {
        long limit = r.Limit;
        bool filtered = r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0;
        RangeRequest.Types.SortOrder sortOrder = r.SortOrder;
        if (r.SortTarget != RangeRequest.Types.SortTarget.Key && sortOrder == RangeRequest.Types.SortOrder.None)
        {
            // The store returns keys in ascending order; any other target sorts ascending by default (as etcd).
            sortOrder = RangeRequest.Types.SortOrder.Ascend;
        }

        if (r.SortOrder != RangeRequest.Types.SortOrder.None || filtered)
        {
            // Fetch everything; sort and truncate afterwards.
            limit = 0;
        }

        if (limit > 0)
        {
            // One extra to know whether there is more.
            limit++;
        }

        bool storeKeysOnly = r.KeysOnly && !(sortOrder != RangeRequest.Types.SortOrder.None && r.SortTarget == RangeRequest.Types.SortTarget.Value);
        RangeResult rr = Call(() => txn.Range(r.Key.Span, r.RangeEnd.Span, new RangeOptions(limit, r.Revision, r.CountOnly, storeKeysOnly)));
        IEnumerable<KeyValue> kvs = rr.Kvs;
        if (r.MaxModRevision != 0)
        {
            kvs = kvs.Where(kv => kv.ModRevision <= r.MaxModRevision);
        }

        if (r.MinModRevision != 0)
        {
            kvs = kvs.Where(kv => kv.ModRevision >= r.MinModRevision);
        }

        if (r.MaxCreateRevision != 0)
        {
            kvs = kvs.Where(kv => kv.CreateRevision <= r.MaxCreateRevision);
        }

        if (r.MinCreateRevision != 0)
        {
            kvs = kvs.Where(kv => kv.CreateRevision >= r.MinCreateRevision);
        }

        if (sortOrder != RangeRequest.Types.SortOrder.None && !(r.SortTarget == RangeRequest.Types.SortTarget.Key && sortOrder == RangeRequest.Types.SortOrder.Ascend))
        {
            Comparison<KeyValue> compare = r.SortTarget switch
            {
                RangeRequest.Types.SortTarget.Version => (a, b) => a.Version.CompareTo(b.Version),
                RangeRequest.Types.SortTarget.Create => (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
                RangeRequest.Types.SortTarget.Mod => (a, b) => a.ModRevision.CompareTo(b.ModRevision),
                RangeRequest.Types.SortTarget.Value => (a, b) => a.Value.Span.SequenceCompareTo(b.Value.Span),
                _ => (a, b) => a.Key.Span.SequenceCompareTo(b.Key.Span),
            };
            var list = kvs.ToList();
            if (sortOrder == RangeRequest.Types.SortOrder.Descend)
            {
                // Stable, with ties in reverse key order: the mirror image of the ascending order.
                list.Reverse();
                kvs = list.OrderByDescending(kv => kv, Comparer<KeyValue>.Create(compare));
            }
            else
            {
                kvs = list.OrderBy(kv => kv, Comparer<KeyValue>.Create(compare));
            }
        }

        var result = kvs.ToList();
        var response = new RangeResponse { Header = new ResponseHeader { Revision = rr.Revision }, Count = rr.Count };
        if (r.Limit > 0 && result.Count > r.Limit)
        {
            result.RemoveRange((int)r.Limit, result.Count - (int)r.Limit);
            response.More = true;
        }

        foreach (KeyValue kv in result)
        {
            if (r.KeysOnly && !kv.Value.IsEmpty)
            {
                // Store results are shared: strip the value on a copy.
                KeyValue copy = kv.Clone();
                copy.Value = ByteString.Empty;
                response.Kvs.Add(copy);
            }
            else
            {
                response.Kvs.Add(kv);
            }
        }

        return response;
    }

    public static PutResponse Put(IWriteTxn txn, PutRequest p, Lessor lessor)
    {
        KeyValue? prev = null;
        if (p.IgnoreValue || p.IgnoreLease || p.PrevKv || lessor.HasLeases)
        {
            IReadOnlyList<KeyValue> found = txn.Range(p.Key.Span, default).Kvs;
            prev = found.Count > 0 ? found[0] : null;
        }

        if ((p.IgnoreValue || p.IgnoreLease) && prev is null)
        {
            throw EtcdErrors.KeyNotFound;
        }

        ByteString value = p.IgnoreValue ? prev!.Value : p.Value;
        long lease = p.IgnoreLease ? prev!.Lease : p.Lease;
        if (lease != 0 && !lessor.Exists(lease))
        {
            throw EtcdErrors.LeaseNotFound;
        }

        long revision;
        try
        {
            revision = txn.Put(p.Key.Span, value.Span, lease);
        }
        catch (MvccException e)
        {
            // Inline rather than through Call: a closure per put is garbage on the hottest path.
            throw Translate(e);
        }

        if (prev is not null && prev.Lease != 0 && prev.Lease != lease)
        {
            lessor.Detach(prev.Lease, p.Key);
        }

        if (lease != 0)
        {
            lessor.Attach(lease, p.Key);
        }

        var response = new PutResponse { Header = new ResponseHeader { Revision = revision } };
        if (p.PrevKv && prev is not null)
        {
            response.PrevKv = prev;
        }

        return response;
    }

    public static DeleteRangeResponse DeleteRange(IWriteTxn txn, DeleteRangeRequest d, Lessor lessor)
    {
        IReadOnlyList<KeyValue> prevs = d.PrevKv || lessor.HasLeases ? txn.Range(d.Key.Span, d.RangeEnd.Span).Kvs : [];
        (long deleted, long revision) = txn.DeleteRange(d.Key.Span, d.RangeEnd.Span);
        foreach (KeyValue kv in prevs)
        {
            if (kv.Lease != 0)
            {
                lessor.Detach(kv.Lease, kv.Key);
            }
        }

        var response = new DeleteRangeResponse { Header = new ResponseHeader { Revision = revision }, Deleted = deleted };
        if (d.PrevKv)
        {
            response.PrevKvs.AddRange(prevs);
        }

        return response;
    }

    /// <summary>Whether the transaction (recursively) only reads: then it runs on a read transaction without raft.</summary>
    public static bool IsReadOnly(TxnRequest r) =>
        r.Success.Concat(r.Failure).All(op => op.RequestCase switch
        {
            RequestOp.RequestOneofCase.RequestRange => true,
            RequestOp.RequestOneofCase.RequestTxn => IsReadOnly(op.RequestTxn),
            _ => false,
        });

    /// <summary>
    /// Runs a transaction on <paramref name="txn"/> (an <see cref="IWriteTxn"/> unless
    /// <see cref="IsReadOnly"/>). Every check that could fail is done before the first write, so
    /// a failed transaction changes nothing.
    /// </summary>
    public static TxnResponse Txn(IReadTxn txn, TxnRequest r, Lessor lessor, long compactedRevision)
    {
        var path = new List<bool>();
        ComputePath(txn, r, path);
        int position = 0;
        Check(txn, r, path, ref position, lessor, compactedRevision);
        position = 0;
        TxnResponse response = ApplyTxn(txn, r, path, ref position, lessor);
        response.Header = new ResponseHeader { Revision = txn.Revision };
        return response;
    }

    private static void ComputePath(IReadTxn txn, TxnRequest r, List<bool> path)
    {
        bool succeeded = r.Compare.All(c => Compare(txn, c));
        path.Add(succeeded);
        foreach (RequestOp op in succeeded ? r.Success : r.Failure)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn)
            {
                ComputePath(txn, op.RequestTxn, path);
            }
        }
    }

    private static void Check(IReadTxn txn, TxnRequest r, List<bool> path, ref int position, Lessor lessor, long compactedRevision)
    {
        bool succeeded = path[position++];
        foreach (RequestOp op in succeeded ? r.Success : r.Failure)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    RangeRequest range = op.RequestRange;
                    if (range.Revision > txn.Revision)
                    {
                        throw EtcdErrors.FutureRev;
                    }

                    if (range.Revision > 0 && range.Revision < compactedRevision)
                    {
                        throw EtcdErrors.Compacted;
                    }

                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    PutRequest put = op.RequestPut;
                    long lease = put.Lease;
                    if (put.IgnoreValue || put.IgnoreLease)
                    {
                        IReadOnlyList<KeyValue> found = txn.Range(put.Key.Span, default).Kvs;
                        if (found.Count == 0)
                        {
                            throw EtcdErrors.KeyNotFound;
                        }

                        if (put.IgnoreLease)
                        {
                            lease = found[0].Lease;
                        }
                    }

                    if (lease != 0 && !lessor.Exists(lease))
                    {
                        throw EtcdErrors.LeaseNotFound;
                    }

                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    Check(txn, op.RequestTxn, path, ref position, lessor, compactedRevision);
                    break;
                default:
                    break;
            }
        }
    }

    private static TxnResponse ApplyTxn(IReadTxn txn, TxnRequest r, List<bool> path, ref int position, Lessor lessor)
    {
        bool succeeded = path[position++];
        var response = new TxnResponse { Succeeded = succeeded };
        foreach (RequestOp op in succeeded ? r.Success : r.Failure)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    response.Responses.Add(new ResponseOp { ResponseRange = Range(txn, op.RequestRange) });
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    response.Responses.Add(new ResponseOp { ResponsePut = Put((IWriteTxn)txn, op.RequestPut, lessor) });
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    response.Responses.Add(new ResponseOp { ResponseDeleteRange = DeleteRange((IWriteTxn)txn, op.RequestDeleteRange, lessor) });
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    TxnResponse nested = ApplyTxn(txn, op.RequestTxn, path, ref position, lessor);
                    // etcd 3.4 sends nested txn responses with an empty header (only the outer one is filled).
                    nested.Header = new ResponseHeader();
                    response.Responses.Add(new ResponseOp { ResponseTxn = nested });
                    break;
                default:
                    response.Responses.Add(new ResponseOp());
                    break;
            }
        }

        return response;
    }

    private static bool Compare(IReadTxn txn, Api.Compare c)
    {
        IReadOnlyList<KeyValue> kvs;
        try
        {
            kvs = txn.Range(c.Key.Span, c.RangeEnd.Span).Kvs;
        }
        catch (MvccException)
        {
            return false;
        }

        if (kvs.Count == 0)
        {
            // A missing key has no value to compare (nil == empty in gRPC): VALUE always fails.
            return c.Target != Api.Compare.Types.CompareTarget.Value && CompareOne(c, new KeyValue());
        }

        return kvs.All(kv => CompareOne(c, kv));
    }

    private static bool CompareOne(Api.Compare c, KeyValue kv)
    {
        int result = c.Target switch
        {
            Api.Compare.Types.CompareTarget.Value => kv.Value.Span.SequenceCompareTo(c.Value.Span),
            Api.Compare.Types.CompareTarget.Create => kv.CreateRevision.CompareTo(c.CreateRevision),
            Api.Compare.Types.CompareTarget.Mod => kv.ModRevision.CompareTo(c.ModRevision),
            Api.Compare.Types.CompareTarget.Version => kv.Version.CompareTo(c.Version),
            Api.Compare.Types.CompareTarget.Lease => kv.Lease.CompareTo(c.Lease),
            _ => 0,
        };
        return c.Result switch
        {
            Api.Compare.Types.CompareResult.Equal => result == 0,
            Api.Compare.Types.CompareResult.NotEqual => result != 0,
            Api.Compare.Types.CompareResult.Greater => result > 0,
            Api.Compare.Types.CompareResult.Less => result < 0,
            _ => true,
        };
    }

    /// <summary>Runs a store call, translating its errors into etcd's client errors.</summary>
    public static T Call<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (MvccException e)
        {
            throw Translate(e);
        }
    }

    public static EtcdException Translate(MvccException e) => e.Error switch
    {
        MvccError.Compacted => EtcdErrors.Compacted,
        MvccError.FutureRevision => EtcdErrors.FutureRev,
        _ => EtcdErrors.NoSpace,
    };
}
