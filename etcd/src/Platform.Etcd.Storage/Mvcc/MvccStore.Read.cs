using LightningDB;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    public IReadTxn Read()
    {
        ThrowIfUnusable();

        // Revision first, backend second: a backend acquired after reading the revision holds
        // every commit up to it (a defrag swap installs the new backend before later commits).
        long revision = Volatile.Read(ref _committedRevision);
        LmdbBackend backend = AcquireBackend();
        try
        {
            return new ReadTxn(this, backend, backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly), revision);
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
    /// A range at <paramref name="currentRevision"/>: index lookup under the index read lock, then
    /// the values from <paramref name="lookup"/>. The caller's LMDB snapshot must have begun
    /// before this call, so a compaction that races it cannot have deleted what the index returns.
    /// </summary>
    private RangeResult RangeCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options, long currentRevision, Func<Revision, KeyValue> lookup)
    {
        long atRev = options.Revision > 0 ? options.Revision : currentRevision;
        if (atRev > currentRevision)
        {
            throw new MvccException(MvccError.FutureRevision);
        }

        List<Revision> revisions;
        long total;
        _indexLock.EnterReadLock();
        try
        {
            if (atRev < _compactMainRevision)
            {
                throw new MvccException(MvccError.Compacted);
            }

            (revisions, total) = _index.Revisions(key, rangeEnd, atRev, options.Limit, options.CountOnly);
        }
        finally
        {
            _indexLock.ExitReadLock();
        }

        if (options.CountOnly || revisions.Count == 0)
        {
            return new RangeResult([], total, currentRevision);
        }

        var kvs = new KeyValue[revisions.Count];
        for (int i = 0; i < kvs.Length; i++)
        {
            KeyValue kv = lookup(revisions[i]);
            if (options.KeysOnly)
            {
                kv = kv.Clone();
                kv.Value = Google.Protobuf.ByteString.Empty;
            }

            kvs[i] = kv;
        }

        return new RangeResult(kvs, total, currentRevision);
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

    private sealed class ReadTxn(MvccStore store, LmdbBackend backend, LightningTransaction txn, long revision) : IReadTxn
    {
        private bool _disposed;

        public long Revision { get; } = revision;

        public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return store.RangeCore(key, rangeEnd, options, Revision, r => ReadKv(txn, backend, r));
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
