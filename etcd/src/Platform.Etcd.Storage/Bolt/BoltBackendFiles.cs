using System.Buffers.Binary;
using System.Text;
using LightningDB;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Storage.Internal;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Storage.Bolt;

/// <summary>
/// Conversions between our LMDB backend and etcd's bbolt backend file, so that etcd's tools and
/// etcd itself can read our snapshots (<c>etcdctl snapshot status|restore</c>) and we can start
/// from a data dir that <c>etcdctl snapshot restore</c> produced, or from real etcd's backend.
/// </summary>
/// <remarks>
/// <para>Tables map one-to-one to top-level buckets of the same name (<c>key</c>, <c>meta</c>,
/// <c>lease</c>, <c>auth*</c>, <c>members*</c>, <c>cluster</c>, ...), keys and values unchanged
/// (their encodings are etcd's), except <c>alarm</c>: etcd keys it by the marshalled
/// AlarmMember with an empty value; we key it by member id (8 bytes big-endian) + alarm type
/// with the AlarmMember as the value. An export also creates etcd's buckets our backend has not
/// created yet (<c>alarm</c>), empty, as etcd's backend always has them.</para>
/// </remarks>
public static partial class BoltBackendFiles
{
    private const string AlarmTable = "alarm";
    private const int ImportBatch = 10_000;
    private static readonly System.Buffers.SearchValues<char> s_tableNameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.");

    /// <summary>
    /// Writes a consistent snapshot of <paramref name="kv"/> (everything applied when called) to
    /// <paramref name="path"/> as a bbolt file, etcd's backend format.
    /// </summary>
    public static void WriteSnapshot(IKvStore kv, string path)
    {
        ArgumentNullException.ThrowIfNull(kv);
        string lmdb = path + ".lmdb";
        try
        {
            kv.CopySnapshotTo(lmdb);

            // A snapshot file is streamed and deleted: no fsync needed.
            ExportLmdb(lmdb, path, durable: false);
        }
        finally
        {
            File.Delete(lmdb);
            File.Delete(lmdb + "-lock");
        }
    }

    /// <summary>
    /// When <paramref name="path"/> is a bbolt file (etcd's backend, e.g. restored by
    /// <c>etcdctl snapshot restore</c>), converts it into our LMDB backend in place: the bolt
    /// file is kept as <c>&lt;path&gt;.bolt</c> and an LMDB file with the same content replaces it
    /// (written to a temporary file, fsynced, then renamed over, so a crash leaves one or the
    /// other and the next start converts again). A file that is not a valid bbolt file is
    /// refused with a <see cref="BoltFormatException"/> and left as it was.
    /// </summary>
    /// <returns>Whether a conversion happened.</returns>
    public static bool ImportIfBolt(string path, MvccOptions? options = null, ILogger? logger = null)
    {
        if (!BoltFormat.IsBoltFile(path))
        {
            return false;
        }

        options ??= new MvccOptions();
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temporary = path + ".import";
        string kept = path + ".bolt";
        File.Delete(temporary);
        File.Delete(temporary + "-lock");
        long entries;
        try
        {
            entries = ImportToLmdb(path, temporary, options);
            if (File.Exists(kept))
            {
                File.Delete(kept);
            }

            File.Copy(path, kept);
            using (var copy = new FileStream(kept, FileMode.Open, FileAccess.ReadWrite))
            {
                PosixFile.DataSync(copy.SafeFileHandle);
            }

            File.Move(temporary, path, overwrite: true);
            PosixFile.SyncDirectory(directory);
        }
        finally
        {
            File.Delete(temporary);
            File.Delete(temporary + "-lock");
        }

        // The lock file of the LMDB environment that now lives at path is re-created on open.
        if (logger is not null)
        {
            LogImported(logger, path, entries, kept);
        }

        return true;
    }

    /// <summary>
    /// What <c>etcdctl snapshot status</c> prints for the bbolt file <paramref name="path"/>,
    /// computed as it does: a CRC-32C over every top-level bucket's name and its keys and values in
    /// order, the main revision of the last <c>key</c> entry, the number of entries, and bbolt's
    /// size (high-water page × page size).
    /// </summary>
    /// <exception cref="BoltFormatException">Not a readable bbolt file.</exception>
    public static BoltSnapshotStatus Status(string path)
    {
        using BoltReader reader = BoltReader.Open(path);
        uint hash = 0;
        long revision = 0;
        long keys = 0;
        foreach (BoltEntry bucket in reader.Buckets())
        {
            if (!bucket.IsBucket)
            {
                throw new BoltFormatException($"bolt: {path}: the root holds a plain key {Convert.ToHexString(bucket.Key)}");
            }

            hash = Crc32C.Update(hash, bucket.Key);
            bool isKey = bucket.Key.AsSpan().SequenceEqual("key"u8);
            foreach (BoltEntry e in reader.Entries(bucket.Value))
            {
                hash = Crc32C.Update(Crc32C.Update(hash, e.Key), e.Value);
                if (isKey && e.Key.Length >= 8)
                {
                    revision = BinaryPrimitives.ReadInt64BigEndian(e.Key);
                }

                keys++;
            }
        }

        return new BoltSnapshotStatus(hash, revision, keys, reader.Size);
    }

    /// <summary>Converts the LMDB backend file <paramref name="lmdbPath"/> (not open elsewhere) into a bbolt file.</summary>
    internal static void ExportLmdb(string lmdbPath, string boltPath, bool durable = true)
    {
        // Opened read-only and without a lock file (nothing else uses the copy), and with the
        // kernel's read-ahead (unlike the live backend's MDB_NORDAHEAD): the export is one
        // sequential scan, several times faster with it.
        LmdbLibrary.EnsureResolver();
        long length = new FileInfo(lmdbPath).Length;
        using var environment = new LightningEnvironment(lmdbPath, new EnvironmentConfiguration
        {
            MapSize = Math.Max(length + (1 << 20), 64L << 20),
            MaxDatabases = 64,
        });
        environment.Open(EnvironmentOpenFlags.NoSubDir | EnvironmentOpenFlags.ReadOnly | EnvironmentOpenFlags.NoLock | EnvironmentOpenFlags.NoThreadLocalStorage);
        using LightningTransaction txn = environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
        var names = new SortedSet<string>(StringComparer.Ordinal) { AlarmTable };
        using (LightningDatabase main = txn.OpenDatabase(closeOnDispose: false))
        using (LightningCursor cursor = txn.CreateCursor(main))
        {
            for ((MDBResultCode rc, MDBValue k, _) = cursor.First(); rc == MDBResultCode.Success; (rc, k, _) = cursor.Next())
            {
                names.Add(Encoding.UTF8.GetString(k.AsSpan()));
            }
        }

        using BoltWriter writer = BoltWriter.Create(boltPath);
        foreach (string name in names)
        {
            LightningDatabase? db = null;
            try
            {
                IEnumerable<KeyValuePair<byte[], byte[]>> entries = [];
                if (name != AlarmTable || TableExists(txn, name))
                {
                    db = txn.OpenDatabase(name, closeOnDispose: false);
                    entries = ReadTable(txn, db);
                }

                if (name == AlarmTable)
                {
                    // etcd: key = marshalled AlarmMember, value empty (sorted by that key).
                    entries = entries.Select(e => new KeyValuePair<byte[], byte[]>(e.Value, [])).OrderBy(e => e.Key, ByteArrayComparer.Instance).ToList();
                }

                writer.AddBucket(Encoding.UTF8.GetBytes(name), entries);
            }
            finally
            {
                db?.Dispose();
            }
        }

        writer.Complete(durable);
    }

    private static bool TableExists(LightningTransaction txn, string name)
    {
        using LightningDatabase main = txn.OpenDatabase(closeOnDispose: false);
        return txn.ContainsKey(main, Encoding.UTF8.GetBytes(name));
    }

    /// <summary>Reads every bucket of <paramref name="boltPath"/> into a new LMDB file; returns the number of entries.</summary>
    internal static long ImportToLmdb(string boltPath, string lmdbPath, MvccOptions options)
    {
        using BoltReader reader = BoltReader.Open(boltPath);
        var buckets = reader.Buckets().ToList();
        foreach (BoltEntry bucket in buckets)
        {
            string name = Encoding.UTF8.GetString(bucket.Key);
            if (!bucket.IsBucket)
            {
                throw new BoltFormatException($"bolt: {boltPath}: the root holds a plain key {name}, not a bucket: not an etcd backend");
            }

            if (!IsValidTableName(name))
            {
                throw new BoltFormatException($"bolt: {boltPath}: bucket name \"{name}\" cannot be a table (1-64 letters, digits, '_', '-', '.')");
            }
        }

        if (!buckets.Any(b => Encoding.UTF8.GetString(b.Key) == LmdbBackend.KeyTable))
        {
            throw new BoltFormatException($"bolt: {boltPath}: no \"key\" bucket: not an etcd backend");
        }

        long count = 0;

        // No fsync per batch (MDB_NOSYNC): the file only counts once renamed, after the final flush.
        LmdbBackend backend = LmdbBackend.Open(lmdbPath, new MvccOptions
        {
            QuotaBackendBytes = options.QuotaBackendBytes,
            MapSizeBytes = options.MapSizeBytes,
            SyncCommits = false,
        });
        try
        {
            foreach (BoltEntry bucket in buckets)
            {
                string name = Encoding.UTF8.GetString(bucket.Key);
                var batch = new List<KeyValuePair<byte[], byte[]>>(ImportBatch);
                foreach (BoltEntry e in reader.Entries(bucket.Value))
                {
                    if (e.IsBucket)
                    {
                        throw new BoltFormatException($"bolt: {boltPath}: bucket \"{name}\" holds a nested bucket {Convert.ToHexString(e.Key)}: not an etcd backend");
                    }

                    if (e.Key.Length > 511)
                    {
                        throw new BoltFormatException($"bolt: {boltPath}: bucket \"{name}\" has a {e.Key.Length}-byte key; the backend takes at most 511");
                    }

                    batch.Add(name == AlarmTable ? ToOurAlarm(boltPath, e.Key) : new(e.Key, e.Value));
                    count++;
                    if (batch.Count == ImportBatch)
                    {
                        Put(backend, name, batch);
                        batch.Clear();
                    }
                }

                Put(backend, name, batch);
            }

            backend.Environment.Flush(force: true);
        }
        finally
        {
            backend.Dispose();
        }

        return count;
    }

    private static bool IsValidTableName(string name) =>
        name.Length is > 0 and <= 64 && !name.AsSpan().ContainsAnyExcept(s_tableNameCharacters);

    private static KeyValuePair<byte[], byte[]> ToOurAlarm(string boltPath, byte[] etcdKey)
    {
        AlarmMember member;
        try
        {
            member = AlarmMember.Parser.ParseFrom(etcdKey);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new BoltFormatException($"bolt: {boltPath}: alarm key {Convert.ToHexString(etcdKey)} is not an AlarmMember", e);
        }

        byte[] key = new byte[9];
        BinaryPrimitives.WriteUInt64BigEndian(key, member.MemberID);
        key[8] = (byte)member.Alarm;
        return new(key, etcdKey);
    }

    private static void Put(LmdbBackend backend, string table, List<KeyValuePair<byte[], byte[]>> entries)
    {
        List<(string Name, LightningDatabase Db)>? created = null;
        using (LightningTransaction txn = backend.Environment.BeginTransaction())
        {
            LightningDatabase db = backend.OpenForWrite(txn, table, ref created);
            foreach (KeyValuePair<byte[], byte[]> e in entries)
            {
                txn.Put(db, e.Key, e.Value).ThrowOnError();
            }

            txn.Commit().ThrowOnError();
        }

        backend.Publish(created);
    }

    private static IEnumerable<KeyValuePair<byte[], byte[]>> ReadTable(LightningTransaction txn, LightningDatabase db)
    {
        using LightningCursor cursor = txn.CreateCursor(db);
        MDBResultCode rc;
        byte[] key;
        byte[] value;
        (rc, key, value) = Copy(cursor.First());
        while (rc == MDBResultCode.Success)
        {
            yield return new(key, value);
            (rc, key, value) = Copy(cursor.Next());
        }
    }

    private static (MDBResultCode, byte[], byte[]) Copy((MDBResultCode Rc, MDBValue Key, MDBValue Value) r) =>
        r.Rc == MDBResultCode.Success ? (r.Rc, r.Key.AsSpan().ToArray(), r.Value.AsSpan().ToArray()) : (r.Rc, [], []);

    [LoggerMessage(Level = LogLevel.Warning, Message = "mvcc: converted the bbolt backend {Path} ({Entries} entries) into LMDB; the bolt file is kept as {Kept}")]
    private static partial void LogImported(ILogger logger, string path, long entries, string kept);

    private sealed class ByteArrayComparer : IComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}

/// <summary>What <c>etcdctl snapshot status</c> reports for a backend file.</summary>
/// <param name="Hash">CRC-32C over bucket names, keys and values.</param>
/// <param name="Revision">The main revision of the last key-table entry.</param>
/// <param name="TotalKeys">Entries in all buckets.</param>
/// <param name="TotalSize">Bytes: high-water page × page size.</param>
public readonly record struct BoltSnapshotStatus(uint Hash, long Revision, long TotalKeys, long TotalSize);
