using LightningDB;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    public IReadTxn Read()
    {
        ThrowIfUnusable();

        // Revision, then the uncommitted batches, then the backend and its snapshot: every
        // revision up to the one read is either in a batch captured here or was committed before
        // that batch was dropped, so before the snapshot began (a defrag swap installs the new
        // backend before any later commit).
        long revision = Volatile.Read(ref _visibleRevision);
        OverlaySet overlays = Volatile.Read(ref _overlays);
        LmdbBackend backend = AcquireBackend();
        try
        {
            return new ReadTxn(this, backend, backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly), revision, overlays);
        }
        catch
        {
            backend.Release();
            throw;
        }
    }

    public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default)
    {
        using IReadTxn txn = Read();
        return txn.Range(key, rangeEnd, options);
    }

    /// <summary>
    /// A range at <paramref name="currentRevision"/>: index lookup and, for revisions not yet
    /// committed, the overlay lookup (O(1) each) under the index read lock; then the others from
    /// the backend through <paramref name="lookup"/>. The caller captured <paramref name="overlays"/>
    /// before its LMDB snapshot began, and the snapshot began before this call, so a commit or
    /// compaction racing it cannot hide what the index returns.
    /// </summary>
    private RangeResult RangeCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options, long currentRevision, OverlaySet overlays, Func<Revision, KeyValue> lookup)
    {
        long atRev = options.Revision > 0 ? options.Revision : currentRevision;
        if (atRev > currentRevision)
        {
            throw new MvccException(MvccError.FutureRevision);
        }

        List<Revision> revisions;
        long total;
        KeyValue?[] kvs;
        _indexLock.EnterReadLock();
        try
        {
            if (atRev < _compactMainRevision)
            {
                throw new MvccException(MvccError.Compacted);
            }

            (revisions, total) = _index.Revisions(key, rangeEnd, atRev, options.Limit, options.CountOnly);
            if (options.CountOnly || revisions.Count == 0)
            {
                return new RangeResult([], total, currentRevision);
            }

            kvs = new KeyValue?[revisions.Count];
            for (int i = 0; i < kvs.Length; i++)
            {
                if (overlays.TryGetKv(revisions[i], out KeyValue pending))
                {
                    kvs[i] = pending;
                }
            }
        }
        finally
        {
            _indexLock.ExitReadLock();
        }

        var result = new KeyValue[kvs.Length];
        for (int i = 0; i < kvs.Length; i++)
        {
            KeyValue kv = kvs[i] ?? lookup(revisions[i]);
            if (options.KeysOnly)
            {
                kv = kv.Clone();
                kv.Value = Google.Protobuf.ByteString.Empty;
            }

            result[i] = kv;
        }

        return new RangeResult(result, total, currentRevision);
    }

    /// <summary>Reads the key-value of a put revision from the key table.</summary>
    private static KeyValue ReadKv(LightningTransaction txn, LmdbBackend backend, Revision revision)
    {
        Span<byte> key = stackalloc byte[Revision.EncodedBytes];
        revision.Write(key);
        (MDBResultCode rc, _, MDBValue value) = txn.Get(backend.Key, key);
        if (rc != MDBResultCode.Success)
        {
            throw new InvalidOperationException($"mvcc: revision {revision} is in the index but not in the key table ({rc})");
        }

        return KeyValue.Parser.ParseFrom(value.AsSpan());
    }

    private sealed class ReadTxn(MvccStore store, LmdbBackend backend, LightningTransaction txn, long revision, OverlaySet overlays) : IReadTxn
    {
        private bool _disposed;

        public long Revision { get; } = revision;

        public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return store.RangeCore(key, rangeEnd, options, Revision, overlays, r => ReadKv(txn, backend, r));
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            txn.Dispose();
            backend.Release();
        }
    }
}
