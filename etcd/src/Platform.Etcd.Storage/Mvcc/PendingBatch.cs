using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>A backend change: a put, or a delete when <see cref="Value"/> is null.</summary>
internal readonly record struct BackendOp(bool Meta, byte[] Key, byte[]? Value);

/// <summary>
/// The changes written since the last backend commit, applied in one LMDB transaction when the
/// batch commits. Only the writer touches it. It is not a read buffer: readers never look here
/// (they read committed data only), so a read's cost never depends on the size of a write batch.
/// The writer itself looks up its own uncommitted key-values in <see cref="Kvs"/>.
/// </summary>
internal sealed class PendingBatch
{
    public List<BackendOp> Ops { get; } = [];

    public Dictionary<Revision, KeyValue> Kvs { get; } = [];

    public List<RevisionChanges> Changes { get; } = [];

    public long Bytes { get; private set; }

    public RaftPosition? ConsistentIndex { get; set; }

    public bool IsEmpty => Ops.Count == 0 && ConsistentIndex is null;

    public void Add(BackendOp op)
    {
        Ops.Add(op);
        Bytes += op.Key.Length + (op.Value?.Length ?? 0);
    }
}
