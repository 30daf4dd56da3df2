using Google.Protobuf;
using Mvcc = Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Client.Internal;

/// <summary>Conversions between the public records and the generated etcdserverpb/mvccpb types.</summary>
internal static class Proto
{
    public static Api.RangeRequest Range(KeyRange range, RangeOptions options)
    {
        ArgumentNullException.ThrowIfNull(range);
        return new Api.RangeRequest
        {
            Key = ByteString.CopyFrom(range.Key),
            RangeEnd = ByteString.CopyFrom(range.RangeEnd),
            Limit = options.Limit,
            Revision = options.Revision,
            SortOrder = (Api.RangeRequest.Types.SortOrder)options.SortOrder,
            SortTarget = (Api.RangeRequest.Types.SortTarget)options.SortTarget,
            Serializable = options.Serializable,
            KeysOnly = options.KeysOnly,
            CountOnly = options.CountOnly,
            MinModRevision = options.MinModRevision,
            MaxModRevision = options.MaxModRevision,
            MinCreateRevision = options.MinCreateRevision,
            MaxCreateRevision = options.MaxCreateRevision,
        };
    }

    public static Api.PutRequest Put(byte[] key, byte[] value, long lease, bool prevKv)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return new Api.PutRequest { Key = ByteString.CopyFrom(key), Value = ByteString.CopyFrom(value), Lease = lease, PrevKv = prevKv };
    }

    public static Api.DeleteRangeRequest Delete(KeyRange range, bool prevKv)
    {
        ArgumentNullException.ThrowIfNull(range);
        return new Api.DeleteRangeRequest { Key = ByteString.CopyFrom(range.Key), RangeEnd = ByteString.CopyFrom(range.RangeEnd), PrevKv = prevKv };
    }

    public static ResponseHeader Header(Api.ResponseHeader? header) =>
        header is null ? new ResponseHeader(0, 0, 0, 0) : new ResponseHeader(header.ClusterId, header.MemberId, header.Revision, header.RaftTerm);

    public static KeyValue Kv(Mvcc.KeyValue kv) =>
        new(kv.Key.ToByteArray(), kv.Value.ToByteArray(), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    public static KeyValue? KvOrNull(Mvcc.KeyValue? kv) => kv is null ? null : Kv(kv);

    public static KeyValue[] Kvs(IReadOnlyCollection<Mvcc.KeyValue> kvs) => [.. kvs.Select(Kv)];

    public static RangeResult Range(Api.RangeResponse response) =>
        new(Header(response.Header), Kvs(response.Kvs), response.More, response.Count);

    public static PutResult Put(Api.PutResponse response) => new(Header(response.Header), KvOrNull(response.PrevKv));

    public static DeleteResult Delete(Api.DeleteRangeResponse response) =>
        new(Header(response.Header), response.Deleted, Kvs(response.PrevKvs));

    public static TxnResult Txn(Api.TxnResponse response) =>
        new(Header(response.Header), response.Succeeded, [.. response.Responses.Select(Op)]);

    public static WatchEvent Event(Mvcc.Event e) =>
        new(e.Type == Mvcc.Event.Types.EventType.Delete ? WatchEventType.Delete : WatchEventType.Put, Kv(e.Kv ?? new Mvcc.KeyValue()), KvOrNull(e.PrevKv));

    public static Member Member(Api.Member m) => new(m.ID, m.Name, [.. m.PeerURLs], [.. m.ClientURLs], m.IsLearner);

    public static Member[] Members(IReadOnlyCollection<Api.Member> members) => [.. members.Select(Member)];

    private static OpResult Op(Api.ResponseOp op) => op.ResponseCase switch
    {
        Api.ResponseOp.ResponseOneofCase.ResponseRange => Range(op.ResponseRange),
        Api.ResponseOp.ResponseOneofCase.ResponsePut => Put(op.ResponsePut),
        Api.ResponseOp.ResponseOneofCase.ResponseDeleteRange => Delete(op.ResponseDeleteRange),
        Api.ResponseOp.ResponseOneofCase.ResponseTxn => Txn(op.ResponseTxn),
        _ => throw new EtcdClientException(Grpc.Core.StatusCode.Internal, $"unknown transaction response {op.ResponseCase}"),
    };
}
