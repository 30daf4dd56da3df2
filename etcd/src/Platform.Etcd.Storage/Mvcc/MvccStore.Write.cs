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
        bool ownsGate = EnterWriter();
        try
        {
            ThrowIfUnusable();
            return new WriteTxn(this, ownsGate);
        }
        catch
        {
            if (ownsGate)
            {
                ExitWriter();
            }

            throw;
        }
    }

    public IDisposable BeginBatch()
    {
        ThrowIfUnusable();
        var batch = new Batch(this);
        EnterWriter(batch);
        return batch;
    }

    public void SetConsistentIndex(RaftPosition position)
    {
        ThrowIfUnusable();
        bool ownsGate = EnterWriter();
        try
        {
            _pending.ConsistentIndex = position;
            Volatile.Write(ref _consistentIndex, new Position(position));
        }
        finally
        {
            if (ownsGate)
            {
                ExitWriter();
            }
        }
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

        long size = Volatile.Read(ref _backendSizeBytes);
        long uncommitted = UncommittedBytes;
        if (size + uncommitted + costBytes > quota)
        {
            _noSpaceAlarm = true;
            LogNoSpace(_logger, size, uncommitted + costBytes, quota);
            throw new MvccException(MvccError.NoSpace);
        }
    }

    /// <summary>Publishes an applied revision to readers and watchers. Caller is the writer.</summary>
    private void Publish(RevisionChanges changes)
    {
        _currentRevision = changes.Revision;
        _indexLock.EnterWriteLock();
        try
        {
            _pending.Changes.Add(changes);
        }
        finally
        {
            _indexLock.ExitWriteLock();
        }

        Volatile.Write(ref _visibleRevision, changes.Revision);
        Notify(changes);
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
            store.ExitWriter();
        }
    }

    private sealed class WriteTxn : IWriteTxn
    {
        private readonly MvccStore _store;
        private readonly bool _ownsGate;
        private readonly long _beginRevision;
        private readonly List<KeyValue> _changes = [];
        private readonly List<Event> _events = [];

        // Captured before any LMDB snapshot this transaction begins: a revision committed and
        // dropped from the overlay afterwards is still found here.
        private readonly OverlaySet _overlays;
        private LmdbBackend? _backend;
        private LightningTransaction? _read;
        private TableView? _tables;
        private bool _ended;

        public WriteTxn(MvccStore store, bool ownsGate)
        {
            _store = store;
            _ownsGate = ownsGate;
            _beginRevision = store._currentRevision;
            _overlays = Volatile.Read(ref store._overlays);
        }

        public long Revision => _changes.Count > 0 ? _beginRevision + 1 : _beginRevision;

        public IReadOnlyList<KeyValue> Changes => _changes;

        public ITables Tables
        {
            get
            {
                ThrowIfEnded();
                return _tables ??= new TableView(_store, this);
            }
        }

        internal bool Ended => _ended;

        public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default)
        {
            ThrowIfEnded();
            return _store.RangeCore(key, rangeEnd, options, Revision, _overlays, LookupBackend);
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
            PendingBatch pending = _store._pending;
            pending.Add(new BackendOp(LmdbBackend.KeyTable, revision.ToKey(), null, kv));
            _store._indexLock.EnterWriteLock();
            try
            {
                pending.Kvs[revision] = kv;
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
                    _store.Publish(new RevisionChanges(_beginRevision + 1, _events));
                }
            }
            finally
            {
                if (_ownsGate)
                {
                    _store.ExitWriter();
                }
            }
        }

        private void Delete(byte[] key)
        {
            long main = _beginRevision + 1;
            var revision = new Revision(main, _changes.Count);
            KeyValue? previous = _store._index.TryGet(key, main, out Revision modified, out _, out _) ? Lookup(modified) : null;
            var tombstone = new KeyValue { Key = UnsafeByteOperations.UnsafeWrap(key) };
            _store._pending.Add(new BackendOp(LmdbBackend.KeyTable, revision.ToKey(tombstone: true), tombstone.ToByteArray()));
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

        /// <summary>A put revision's key-value: the uncommitted batches first, then the backend.</summary>
        private KeyValue Lookup(Revision revision)
        {
            // The writer is the only one changing the overlay, so it may read it without the lock.
            return _overlays.TryGetKv(revision, out KeyValue kv) ? kv : LookupBackend(revision);
        }

        private KeyValue LookupBackend(Revision revision)
        {
            if (_read is null)
            {
                _backend = _store.AcquireBackend();
                _read = _backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            }

            return ReadKv(_read, _backend!, revision);
        }

        private void ThrowIfEnded() => ObjectDisposedException.ThrowIf(_ended, this);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "mvcc: database space exceeded: backend {SizeBytes} bytes + {CostBytes} bytes > quota {QuotaBytes} bytes; NOSPACE alarm raised")]
    private static partial void LogNoSpace(ILogger logger, long sizeBytes, long costBytes, long quotaBytes);
}
