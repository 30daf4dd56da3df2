using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// A backend change to <see cref="Table"/>: a put of <see cref="Value"/>, or of <see cref="Kv"/>
/// serialized when it is written, or a delete when both are null.
/// </summary>
/// <remarks>
/// A key-table put carries its <see cref="KeyValue"/> (already in the overlay, never changed after
/// it is applied) instead of its encoding: the committer serializes it into a reused buffer, so
/// applying a put neither spends the time nor keeps a second copy of the value (~300 bytes a put
/// that would live, and be promoted by the GC, until the batch commits).
/// </remarks>
internal readonly record struct BackendOp(string Table, byte[] Key, byte[]? Value, KeyValue? Kv = null);

/// <summary>
/// The changes applied since the last backend commit: the ops the committer writes in one LMDB
/// transaction, and the overlay readers consult for what is applied but not yet committed.
/// </summary>
/// <remarks>
/// <para>Only the writer (under the writer gate) appends. <see cref="Kvs"/>, <see cref="Changes"/>
/// and <see cref="Tables"/> are changed under the store's index write lock and read under its read
/// lock; once the committer has taken the batch (it is then <see cref="OverlaySet.Committing"/>)
/// nothing changes it any more.</para>
/// <para>This is not etcd's read buffer: a reader looks up only the revisions the index gives it,
/// O(1) each in <see cref="Kvs"/>, and never copies the batch, so a read's cost does not depend on
/// how large write batches are or were; the batch is dropped (not shrunk) once committed.</para>
/// </remarks>
internal sealed class PendingBatch
{
    public List<BackendOp> Ops { get; } = [];

    /// <summary>The key-values of the put revisions in <see cref="Ops"/>.</summary>
    public Dictionary<Revision, KeyValue> Kvs { get; } = [];

    /// <summary>The applied revisions' events, in revision order (for <see cref="IKvStore.Changes"/>).</summary>
    public List<RevisionChanges> Changes { get; } = [];

    /// <summary>Server-table changes: table → key → value, null for a delete.</summary>
    public Dictionary<string, SortedDictionary<byte[], byte[]?>> Tables { get; } = new(StringComparer.Ordinal);

    public long Bytes { get; private set; }

    public RaftPosition? ConsistentIndex { get; set; }

    public bool IsEmpty => Ops.Count == 0 && ConsistentIndex is null;

    public void Add(BackendOp op)
    {
        Ops.Add(op);
        Bytes += op.Key.Length + (op.Value?.Length ?? op.Kv?.CalculateSize() ?? 0);
    }
}

/// <summary>
/// The batches not yet in the backend, newest first: the one being applied to and, while the
/// committer writes it, the previous one. Immutable: a reader captures the set before it begins
/// its LMDB snapshot, so any revision it may need is either in that snapshot (committed earlier)
/// or in a batch it holds (the set it captured keeps a batch alive after the committer drops it).
/// </summary>
internal sealed record OverlaySet(PendingBatch Pending, PendingBatch? Committing)
{
    /// <summary>Caller holds the index read (or write) lock.</summary>
    public bool TryGetKv(Revision revision, out KeyValue kv) =>
        Pending.Kvs.TryGetValue(revision, out kv!) || (Committing is not null && Committing.Kvs.TryGetValue(revision, out kv!));
}
