using Google.Protobuf;
using LightningDB;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    // Per put, beyond key and value: the 17-byte revision key, the KeyValue's other fields and
    // LMDB's node header; a deliberate overestimate (etcd's quota estimate is similar in spirit).
    private const int PutOverheadBytes = 64;
    private List<BackendOp[]>? _defragLog;
    private readonly Lock _defragLogLock = new();

    public IWriteTxn Write()
    {
        ThrowIfUnusable();
        bool ownsGate = !_batchOpen;
        if (ownsGate)
        {
            _writerGate.Wait();
        }

        try
        {
            ThrowIfUnusable();
            return new WriteTxn(this, ownsGate);
        }
        catch
        {
            if (ownsGate)
            {
                _writerGate.Release();
            }

            throw;
        }
    }

    public IDisposable BeginBatch()
    {
        ThrowIfUnusable();
        _writerGate.Wait();
        _batchOpen = true;
        return new Batch(this);
    }

    public void SetConsistentIndex(RaftPosition position)
    {
        ThrowIfUnusable();
        if (_batchOpen)
        {
            _pending.ConsistentIndex = position;
            _consistentIndex = position;
            return;
        }

        _writerGate.Wait();
        try
        {
            _pending.ConsistentIndex = position;
            _consistentIndex = position;
            CommitPending();
        }
        finally
        {
            _writerGate.Release();
        }
    }

    /// <summary>
    /// Writes the pending batch in one LMDB transaction (with the consistent index), then
    /// publishes its revision to readers and its changes to observers. Caller holds the writer gate.
    /// </summary>
    private void CommitPending()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        PendingBatch batch = _pending;
        _pending = new PendingBatch();
        if (batch.ConsistentIndex is RaftPosition position)
        {
            batch.Add(new BackendOp(true, s_consistentIndexKey, EncodeUInt64(position.Index)));
            batch.Add(new BackendOp(true, s_termKey, EncodeUInt64(position.Term)));
        }

        BackendOp[] ops = [.. batch.Ops];
        try
        {
            Apply(_backend, ops);
        }
        catch (Exception e)
        {
            // The index already holds the batch's revisions; a store that cannot persist them
            // must be reopened (etcd panics here).
            _fault = e;
            LogCommitFailed(_logger, e);
            throw;
        }

        lock (_defragLogLock)
        {
            _defragLog?.Add(ops);
        }

        Volatile.Write(ref _committedRevision, _currentRevision);
        if (batch.Changes.Count > 0)
        {
            Notify(batch.Changes);
        }
    }

    private static void Apply(LmdbBackend backend, IEnumerable<BackendOp> ops)
    {
        using LightningTransaction txn = backend.Environment.BeginTransaction();
        foreach (BackendOp op in ops)
        {
            LightningDatabase db = op.Meta ? backend.Meta : backend.Key;
            if (op.Value is null)
            {
                MDBResultCode rc = txn.Delete(db, op.Key);
                if (rc != MDBResultCode.NotFound)
                {
                    rc.ThrowOnError();
                }
            }
            else
            {
                txn.Put(db, op.Key, op.Value).ThrowOnError();
            }
        }

        txn.Commit().ThrowOnError();
    }

    private void CheckQuota(long costBytes)
    {
        long quota = _options.EffectiveQuotaBytes;
        if (quota < 0)
        {
            return;
        }

        if (_noSpaceAlarm)
        {
            throw new MvccException(MvccError.NoSpace);
        }

        long size = _backend.SizeBytes;
        if (size + _pending.Bytes + costBytes > quota)
        {
            _noSpaceAlarm = true;
            LogNoSpace(_logger, size, _pending.Bytes + costBytes, quota);
            throw new MvccException(MvccError.NoSpace);
        }
    }

    private sealed class Batch(MvccStore store) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                store._batchOpen = false;
                store.CommitPending();
            }
            finally
            {
                store._writerGate.Release();
            }
        }
    }

    private sealed class WriteTxn : IWriteTxn
    {
        private readonly MvccStore _store;
        private readonly bool _ownsGate;
        private readonly long _beginRevision;
        private readonly List<KeyValue> _changes = [];
        private readonly List<Event> _events = [];
        private LmdbBackend? _backend;
        private LightningTransaction? _read;
        private bool _ended;

        public WriteTxn(MvccStore store, bool ownsGate)
        {
            _store = store;
            _ownsGate = ownsGate;
            _beginRevision = store._currentRevision;
        }

        public long Revision => _changes.Count > 0 ? _beginRevision + 1 : _beginRevision;

        public IReadOnlyList<KeyValue> Changes => _changes;

        public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default)
        {
            ThrowIfEnded();
            return _store.RangeCore(key, rangeEnd, options, Revision, Lookup);
        }

        public long Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long lease = 0)
        {
            ThrowIfEnded();
            if (key.IsEmpty)
            {
                throw new ArgumentException("mvcc: key must not be empty", nameof(key));
            }

            _store.CheckQuota(key.Length + value.Length + PutOverheadBytes);
            long main = _beginRevision + 1;
            var revision = new Revision(main, _changes.Count);
            byte[] keyBytes = key.ToArray();

            // The writer is the only one changing the index, so it may read it without the lock.
            KeyValue? previous = null;
            long created = main;
            long version = 1;
            if (_store._index.TryGet(key, main, out Revision modified, out Revision createdRevision, out long previousVersion))
            {
                previous = Lookup(modified);
                created = createdRevision.Main;
                version = previousVersion + 1;
            }

            var kv = new KeyValue
            {
                Key = UnsafeByteOperations.UnsafeWrap(keyBytes),
                Value = ByteString.CopyFrom(value),
                CreateRevision = created,
                ModRevision = main,
                Version = version,
                Lease = lease,
            };
            _store._pending.Add(new BackendOp(false, revision.ToKey(), kv.ToByteArray()));
            _store._pending.Kvs[revision] = kv;
            _store._indexLock.EnterWriteLock();
            try
            {
                _store._index.Put(keyBytes, revision);
            }
            finally
            {
                _store._indexLock.ExitWriteLock();
            }

            _changes.Add(kv);
            _events.Add(new Event { Type = Event.Types.EventType.Put, Kv = kv, PrevKv = previous });
            return main;
        }

        public (long Deleted, long Revision) DeleteRange(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd)
        {
            ThrowIfEnded();
            List<byte[]> keys = _store._index.LiveKeys(key, rangeEnd, Revision);
            foreach (byte[] k in keys)
            {
                Delete(k);
            }

            return (keys.Count, Revision);
        }

        public void Dispose()
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _read?.Dispose();
            _backend?.Release();
            try
            {
                if (_changes.Count > 0)
                {
                    _store._currentRevision = _beginRevision + 1;
                    _store._pending.Changes.Add(new RevisionChanges(_beginRevision + 1, _events));
                }

                if (_ownsGate)
                {
                    _store.CommitPending();
                }
            }
            finally
            {
                if (_ownsGate)
                {
                    _store._writerGate.Release();
                }
            }
        }

        private void Delete(byte[] key)
        {
            long main = _beginRevision + 1;
            var revision = new Revision(main, _changes.Count);
            KeyValue? previous = _store._index.TryGet(key, main, out Revision modified, out _, out _) ? Lookup(modified) : null;
            var tombstone = new KeyValue { Key = UnsafeByteOperations.UnsafeWrap(key) };
            _store._pending.Add(new BackendOp(false, revision.ToKey(tombstone: true), tombstone.ToByteArray()));
            _store._indexLock.EnterWriteLock();
            try
            {
                _store._index.Tombstone(key, revision);
            }
            finally
            {
                _store._indexLock.ExitWriteLock();
            }

            _changes.Add(tombstone);
            _events.Add(new Event
            {
                Type = Event.Types.EventType.Delete,
                Kv = new KeyValue { Key = tombstone.Key, ModRevision = main },
                PrevKv = previous,
            });
        }

        /// <summary>A put revision's key-value: this batch's own writes first, then the committed backend.</summary>
        private KeyValue Lookup(Revision revision)
        {
            if (_store._pending.Kvs.TryGetValue(revision, out KeyValue? kv))
            {
                return kv;
            }

            if (_read is null)
            {
                _backend = _store.AcquireBackend();
                _read = _backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            }

            return ReadKv(_read, _backend!, revision);
        }

        private void ThrowIfEnded() => ObjectDisposedException.ThrowIf(_ended, this);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "mvcc: backend commit failed; the store must be reopened")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "mvcc: database space exceeded: backend {SizeBytes} bytes + {CostBytes} bytes > quota {QuotaBytes} bytes; NOSPACE alarm raised")]
    private static partial void LogNoSpace(ILogger logger, long sizeBytes, long costBytes, long quotaBytes);
}
