using LightningDB;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// One open LMDB environment (a single file, <c>MDB_NOSUBDIR</c>) with the store's tables, shared
/// by readers through reference counting so defragmentation can swap in a new one while reads
/// on the old one finish.
/// </summary>
/// <remarks>
/// Tables: <c>key</c> (revision → KeyValue), <c>meta</c>, and the server tables (<see cref="ServerTables"/>
/// names are created at open; other names when first written). Only the committer writes; a table
/// it creates becomes visible in <see cref="Tables"/> after the creating commit, so a reader that
/// takes <see cref="Tables"/> before it begins its LMDB snapshot only uses handles that snapshot knows.
/// </remarks>
internal sealed class LmdbBackend : IDisposable
{
    public const string KeyTable = "key";
    public const string MetaTable = "meta";

    // LMDB keeps named databases in a fixed-size array sized at open; a handful are used.
    private const int MaxTables = 64;
    private static readonly DatabaseConfiguration s_create = new() { Flags = DatabaseOpenFlags.Create };
    private volatile Dictionary<string, LightningDatabase> _tables;
    private int _references = 1;

    private LmdbBackend(string path, LightningEnvironment environment, Dictionary<string, LightningDatabase> tables)
    {
        Path = path;
        Environment = environment;
        _tables = tables;
        Key = tables[KeyTable];
        Meta = tables[MetaTable];
    }

    /// <summary>The path the environment was opened at (a defragmented copy keeps its temporary name here).</summary>
    public string Path { get; }

    public LightningEnvironment Environment { get; }

    public LightningDatabase Key { get; }

    public LightningDatabase Meta { get; }

    /// <summary>Every table committed so far, by name (replaced, never changed, when one is created).</summary>
    public IReadOnlyDictionary<string, LightningDatabase> Tables => _tables;

    public static LmdbBackend Open(string path, MvccOptions options)
    {
        LmdbLibrary.EnsureResolver();
        var environment = new LightningEnvironment(path, new EnvironmentConfiguration
        {
            MapSize = options.EffectiveMapSizeBytes,
            MaxDatabases = MaxTables,
            MaxReaders = options.MaxReaders,
        });
        try
        {
            // NoThreadLocalStorage: read transactions are not tied to threads (async callers hop).
            // NoMetaSync: one fdatasync per commit instead of two; a crash may lose the last
            // commit, never integrity, and the WAL replays it.
            EnvironmentOpenFlags flags = EnvironmentOpenFlags.NoSubDir | EnvironmentOpenFlags.NoThreadLocalStorage | EnvironmentOpenFlags.NoReadAhead
                | (options.SyncCommits ? EnvironmentOpenFlags.NoMetaSync : EnvironmentOpenFlags.NoSync);
            environment.Open(flags);
            using LightningTransaction txn = environment.BeginTransaction();

            // The main database lists the named ones: reopen the tables earlier runs created.
            var names = new SortedSet<string>(StringComparer.Ordinal) { KeyTable, MetaTable };
            names.UnionWith(ServerTables.WellKnown);
            using (LightningDatabase main = txn.OpenDatabase(closeOnDispose: false))
            using (LightningCursor cursor = txn.CreateCursor(main))
            {
                for ((MDBResultCode rc, MDBValue k, _) = cursor.First(); rc == MDBResultCode.Success; (rc, k, _) = cursor.Next())
                {
                    names.Add(System.Text.Encoding.UTF8.GetString(k.AsSpan()));
                }
            }

            var tables = new Dictionary<string, LightningDatabase>(StringComparer.Ordinal);
            foreach (string name in names)
            {
                tables[name] = txn.OpenDatabase(name, s_create, closeOnDispose: false);
            }

            txn.Commit().ThrowOnError();
            return new LmdbBackend(path, environment, tables);
        }
        catch
        {
            environment.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The handle of <paramref name="table"/>, created in <paramref name="writeTxn"/> if new (the
    /// committer only); a new one is added to <paramref name="created"/>, for <see cref="Publish"/>
    /// after the commit.
    /// </summary>
    public LightningDatabase OpenForWrite(LightningTransaction writeTxn, string table, ref List<(string Name, LightningDatabase Db)>? created)
    {
        if (_tables.TryGetValue(table, out LightningDatabase? db))
        {
            return db;
        }

        if (created?.Find(c => c.Name == table) is { Db: not null } pending)
        {
            return pending.Db;
        }

        db = writeTxn.OpenDatabase(table, s_create, closeOnDispose: false);
        (created ??= []).Add((table, db));
        return db;
    }

    /// <summary>Makes tables created by a committed transaction visible to readers.</summary>
    public void Publish(List<(string Name, LightningDatabase Db)>? created)
    {
        if (created is null)
        {
            return;
        }

        var tables = new Dictionary<string, LightningDatabase>(_tables, StringComparer.Ordinal);
        foreach ((string name, LightningDatabase db) in created)
        {
            tables[name] = db;
        }

        _tables = tables;
    }

    /// <summary>Pages up to the highest one in use, in bytes.</summary>
    public long SizeBytes => (Environment.Info.LastPageNumber + 1) * (long)Environment.EnvironmentStats.PageSize;

    /// <summary>Bytes of the pages that hold the tables (branch, leaf, overflow) plus the two meta pages.</summary>
    public long SizeInUseBytes
    {
        get
        {
            using LightningTransaction txn = Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            long pages = 2;
            foreach (LightningDatabase db in _tables.Values)
            {
                Stats stats = txn.GetStats(db);
                pages += stats.BranchPages + stats.LeafPages + stats.OverflowPages;
            }

            return pages * Environment.EnvironmentStats.PageSize;
        }
    }

    /// <summary>Takes a reference; false when the backend is already closed (swapped out and drained).</summary>
    public bool TryAcquire()
    {
        int current = Volatile.Read(ref _references);
        while (current > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            foreach (LightningDatabase db in _tables.Values)
            {
                db.Dispose();
            }

            Environment.Dispose();
        }
    }

    /// <summary>Drops the owner's reference: closes once the last reader releases.</summary>
    public void Dispose() => Release();
}
