using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Tests.Linearizability;

/// <summary>Builds histories by hand; revision 0 means "not known" (values-only checks).</summary>
internal sealed class HistoryBuilder
{
    private readonly List<Operation> _ops = [];

    public IReadOnlyList<Operation> Ops => _ops;

    public void Add(int client, long call, long ret, KvOp request, long revision, KvReply reply) =>
        _ops.Add(new Operation(_ops.Count + 1, client, call, ret, request, new KvResponse(revision, reply)));

    public void Unknown(int client, long call, KvOp request) =>
        _ops.Add(new Operation(_ops.Count + 1, client, call, 0, request, null));

    public void Put(int client, long call, long ret, string key, string value, long rev = 0) =>
        Add(client, call, ret, new PutOp(key, value), rev, PutReply.Instance);

    /// <summary>A get; with <paramref name="modRev"/> the key-value's revisions are those of a first put at it.</summary>
    public void Get(int client, long call, long ret, string key, string? value, long modRev = 0, long rev = 0) =>
        Add(client, call, ret, new RangeOp(key), rev, new RangeReply(value is null ? [] : [new KvItem(key, value, modRev, modRev, 1, 0)]));

    /// <summary>if value(key)==expect then put key=set else get key (answering <paramref name="current"/>).</summary>
    public void Cas(int client, long call, long ret, string key, string expect, string set, bool succeeded, string? current = null) =>
        Add(client, call, ret, new TxnOp([new KvCompare(key, CompareTarget.Value, expect)], [new PutOp(key, set)], [new RangeOp(key)]), 0,
            new TxnReply(succeeded, succeeded ? [PutReply.Instance] : [new RangeReply(current is null ? [] : [new KvItem(key, current, 0, 0, 0, 0)])]));
}
