using LightningDB;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    private const int MaxTableKeyBytes = 511;
    private static readonly ByteComparer s_byteComparer = new();
    private static readonly System.Buffers.SearchValues<char> s_tableNameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.");

    /// <summary>
    /// <see cref="ITables"/> over the store: writes go into the pending batch (the overlay, under the
    /// index write lock, and the ops the committer writes); reads look in the captured overlay,
    /// newest first, then in the backend snapshot.
    /// The view of a write transaction (<c>txn</c>) writes as part of it; the store's own view
    /// (<c>txn</c> null) takes part in the open batch or is a writer of its own.
    /// </summary>
    private sealed class TableView(MvccStore store, WriteTxn? txn) : ITables
    {
        public byte[]? Get(string table, ReadOnlySpan<byte> key)
        {
            ValidateTable(table);
            ThrowIfEnded();
            return store.TableGet(table, key);
        }

        public IReadOnlyList<TableEntry> Scan(string table, ReadOnlySpan<byte> from = default, ReadOnlySpan<byte> to = default)
        {
            ValidateTable(table);
            ThrowIfEnded();
            return store.TableScan(table, from, to);
        }

        public void Put(string table, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            ValidateTable(table);
            ValidateKey(key);
            Write(table, key.ToArray(), value.ToArray());
        }

        public bool Delete(string table, ReadOnlySpan<byte> key)
        {
            ValidateTable(table);
            ValidateKey(key);
            return Write(table, key.ToArray(), null);
        }

        /// <returns>Whether the key existed before.</returns>
        private bool Write(string table, byte[] key, byte[]? value)
        {
            ThrowIfEnded();
            store.ThrowIfUnusable();
            bool ownsGate = txn is null && store.EnterWriter();
            try
            {
                store.ThrowIfUnusable();

                // No quota check: etcd's quota gates only key-space puts, txns and lease grants;
                // its own buckets (leases, auth, alarms, members) are always writable, so the
                // NOSPACE alarm itself and lease revokes persist while it is raised.
                bool existed = store.TableGet(table, key) is not null;
                if (value is null && !existed)
                {
                    return false;
                }

                PendingBatch pending = store._pending;
                pending.Add(new BackendOp(table, key, value));
                store._indexLock.EnterWriteLock();
                try
                {
                    if (!pending.Tables.TryGetValue(table, out SortedDictionary<byte[], byte[]?>? changes))
                    {
                        pending.Tables[table] = changes = new SortedDictionary<byte[], byte[]?>(s_byteComparer);
                    }

                    changes[key] = value;
                }
                finally
                {
                    store._indexLock.ExitWriteLock();
                }

                return existed;
            }
            finally
            {
                if (ownsGate)
                {
                    store.ExitWriter();
                }
            }
        }

        private void ThrowIfEnded()
        {
            if (txn is not null)
            {
                ObjectDisposedException.ThrowIf(txn.Ended, txn);
            }
        }
    }

    private byte[]? TableGet(string table, ReadOnlySpan<byte> key)
    {
        ThrowIfUnusable();

        // Overlay, then the table handles, then the snapshot (see LmdbBackend's remarks).
        OverlaySet overlays = Volatile.Read(ref _overlays);
        LmdbBackend backend = AcquireBackend();
        try
        {
            IReadOnlyDictionary<string, LightningDatabase> tables = backend.Tables;
            using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            byte[] probe = key.ToArray();
            _indexLock.EnterReadLock();
            try
            {
                foreach (PendingBatch? batch in (ReadOnlySpan<PendingBatch?>)[overlays.Pending, overlays.Committing])
                {
                    if (batch is not null && batch.Tables.TryGetValue(table, out SortedDictionary<byte[], byte[]?>? changes)
                        && changes.TryGetValue(probe, out byte[]? value))
                    {
                        return value;
                    }
                }
            }
            finally
            {
                _indexLock.ExitReadLock();
            }

            if (!tables.TryGetValue(table, out LightningDatabase? db))
            {
                return null;
            }

            (MDBResultCode rc, _, MDBValue stored) = txn.Get(db, key);
            if (rc == MDBResultCode.NotFound)
            {
                return null;
            }

            rc.ThrowOnError();
            return stored.CopyToNewArray();
        }
        finally
        {
            backend.Release();
        }
    }

    private List<TableEntry> TableScan(string table, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        ThrowIfUnusable();
        OverlaySet overlays = Volatile.Read(ref _overlays);
        LmdbBackend backend = AcquireBackend();
        try
        {
            IReadOnlyDictionary<string, LightningDatabase> tables = backend.Tables;
            using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            var merged = new SortedDictionary<byte[], byte[]?>(s_byteComparer);
            byte[] start = from.ToArray();
            byte[] end = to.ToArray();
            bool InRange(byte[] k) => s_byteComparer.Compare(k, start) >= 0 && (end.Length == 0 || s_byteComparer.Compare(k, end) < 0);

            if (tables.TryGetValue(table, out LightningDatabase? db))
            {
                using LightningCursor cursor = txn.CreateCursor(db);
                (MDBResultCode rc, MDBValue k, MDBValue v) = start.Length == 0 ? cursor.First() : Positioned(cursor, start);
                for (; rc == MDBResultCode.Success; (rc, k, v) = cursor.Next())
                {
                    byte[] entryKey = k.CopyToNewArray();
                    if (!InRange(entryKey))
                    {
                        break;
                    }

                    merged[entryKey] = v.CopyToNewArray();
                }
            }

            // Older batch first, so the newer one's changes win.
            _indexLock.EnterReadLock();
            try
            {
                foreach (PendingBatch? batch in (ReadOnlySpan<PendingBatch?>)[overlays.Committing, overlays.Pending])
                {
                    if (batch is null || !batch.Tables.TryGetValue(table, out SortedDictionary<byte[], byte[]?>? changes))
                    {
                        continue;
                    }

                    foreach ((byte[] k, byte[]? v) in changes)
                    {
                        if (InRange(k))
                        {
                            merged[k] = v;
                        }
                    }
                }
            }
            finally
            {
                _indexLock.ExitReadLock();
            }

            var result = new List<TableEntry>(merged.Count);
            foreach ((byte[] k, byte[]? v) in merged)
            {
                if (v is not null)
                {
                    result.Add(new TableEntry(k.ToArray(), v.ToArray()));
                }
            }

            return result;
        }
        finally
        {
            backend.Release();
        }

        static (MDBResultCode, MDBValue, MDBValue) Positioned(LightningCursor cursor, byte[] start)
        {
            MDBResultCode rc = cursor.SetRange(start);
            return rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
        }
    }

    private static void ValidateTable(string table)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        if (table.Length > 64 || table is LmdbBackend.KeyTable or LmdbBackend.MetaTable
            || table.AsSpan().ContainsAnyExcept(s_tableNameCharacters))
        {
            throw new ArgumentException($"mvcc: invalid table name \"{table}\" (1-64 of A-Z a-z 0-9 _ - .; not \"key\" or \"meta\")", nameof(table));
        }
    }

    private static void ValidateKey(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty || key.Length > MaxTableKeyBytes)
        {
            throw new ArgumentException($"mvcc: a table key must be 1-{MaxTableKeyBytes} bytes, not {key.Length}", nameof(key));
        }
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
