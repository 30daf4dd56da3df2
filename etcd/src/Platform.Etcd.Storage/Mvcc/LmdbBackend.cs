using LightningDB;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// One open LMDB environment (a single file, <c>MDB_NOSUBDIR</c>) with the store's tables, shared
/// by readers through reference counting so defragmentation can swap in a new one while reads
/// on the old one finish.
/// </summary>
internal sealed class LmdbBackend : IDisposable
{
    public const string KeyTable = "key";
    public const string MetaTable = "meta";
    private int _references = 1;

    private LmdbBackend(string path, LightningEnvironment environment, LightningDatabase key, LightningDatabase meta)
    {
        Path = path;
        Environment = environment;
        Key = key;
        Meta = meta;
    }

    /// <summary>The path the environment was opened at (a defragmented copy keeps its temporary name here).</summary>
    public string Path { get; }

    public LightningEnvironment Environment { get; }

    public LightningDatabase Key { get; }

    public LightningDatabase Meta { get; }

    public static LmdbBackend Open(string path, MvccOptions options)
    {
        LmdbLibrary.EnsureResolver();
        var environment = new LightningEnvironment(path, new EnvironmentConfiguration
        {
            MapSize = options.EffectiveMapSizeBytes,
            MaxDatabases = 8,
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
            var config = new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create };
            LightningDatabase key = txn.OpenDatabase(KeyTable, config, closeOnDispose: false);
            LightningDatabase meta = txn.OpenDatabase(MetaTable, config, closeOnDispose: false);
            txn.Commit().ThrowOnError();
            return new LmdbBackend(path, environment, key, meta);
        }
        catch
        {
            environment.Dispose();
            throw;
        }
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
            foreach (LightningDatabase db in (LightningDatabase[])[Key, Meta])
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
            Key.Dispose();
            Meta.Dispose();
            Environment.Dispose();
        }
    }

    /// <summary>Drops the owner's reference: closes once the last reader releases.</summary>
    public void Dispose() => Release();
}
