using System.Buffers.Binary;
using System.Text;
using LightningDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>Opens MVCC stores.</summary>
public static class MvccStores
{
    /// <summary>
    /// Opens (creating if missing) the store whose backend is the LMDB file <paramref name="path"/>
    /// (etcd's place: <c>member/snap/db</c>), rebuilding the key index from the key table and
    /// resuming an interrupted compaction.
    /// </summary>
    public static IKvStore Open(string path, MvccOptions? options = null, ILogger? logger = null) =>
        MvccStore.Open(path, options ?? new MvccOptions(), logger ?? NullLogger.Instance);
}

/// <summary>The <see cref="IKvStore"/> implementation on LMDB; see etcd/docs/ARCHITECTURE.md.</summary>
internal sealed partial class MvccStore : IKvStore
{
    internal static readonly byte[] s_consistentIndexKey = Encoding.ASCII.GetBytes("consistent_index");
    internal static readonly byte[] s_termKey = Encoding.ASCII.GetBytes("term");
    internal static readonly byte[] s_scheduledCompactKey = Encoding.ASCII.GetBytes("scheduledCompactRev");
    internal static readonly byte[] s_finishedCompactKey = Encoding.ASCII.GetBytes("finishedCompactRev");

    private readonly string _path;
    private readonly MvccOptions _options;
    private readonly ILogger _logger;
    private readonly TreeIndex _index = new();

    // Held only around index operations, never across I/O: readers wait at most for one index
    // update of one key, never for a backend commit.
    private readonly ReaderWriterLockSlim _indexLock = new(LockRecursionPolicy.NoRecursion);

    // The single writer: a write transaction, a batch, a table write, a compaction step. The
    // committer takes it only to swap batches (a few instructions), so commits fall between writers.
    private readonly SemaphoreSlim _writerGate = new(1, 1);
    private readonly Lock _observersLock = new();
    private LmdbBackend _backend;

    // Readers' revision: the last applied (visible) one. _currentRevision is the writer's copy.
    private long _visibleRevision;
    private long _currentRevision;
    private long _compactMainRevision;
    private Position _consistentIndex = new(default);
    private Position _committedConsistentIndex = new(default);

    // Written by the writer (under the gate) and swapped by the committer (under both gates).
    private PendingBatch _pending = new();
    private OverlaySet _overlays;

    // Who holds the writer gate: a token per acquisition (the Batch for a batch), also stored in
    // the acquiring async flow. The flow that opened a batch writes in it without waiting (across
    // awaits and thread hops, unlike a thread id), and a flow that would wait for itself (a
    // commit or a second writer inside its own transaction) gets an exception, not a deadlock.
    private object? _writerToken;
    private readonly AsyncLocal<object?> _flowWriterToken = new();
    private Action<RevisionChanges>[] _observers = [];
    private volatile bool _noSpaceAlarm;
    private volatile Exception? _fault;
    private Task _compaction = Task.CompletedTask;
    private volatile bool _disposed;

    private MvccStore(string path, MvccOptions options, ILogger logger, LmdbBackend backend)
    {
        _path = path;
        _options = options;
        _logger = logger;
        _backend = backend;
        _overlays = new OverlaySet(_pending, null);
        Tables = new TableView(this, null);
    }

    public long CurrentRevision => Volatile.Read(ref _visibleRevision);

    public long CompactedRevision => Volatile.Read(ref _compactMainRevision);

    public RaftPosition ConsistentIndex => Volatile.Read(ref _consistentIndex).Value;

    public RaftPosition CommittedConsistentIndex => Volatile.Read(ref _committedConsistentIndex).Value;

    public ITables Tables { get; }

    public bool NoSpaceAlarm => _noSpaceAlarm;

    public long DbSizeBytes => Volatile.Read(ref _backendSizeBytes);

    public long DbSizeInUseBytes => Volatile.Read(ref _backendInUseBytes);

    public long QuotaUsedBytes => Volatile.Read(ref _backendSizeBytes) + UncommittedBytes;

    // The pending batch is swapped by the committer: read its reference once.
    private long UncommittedBytes => Volatile.Read(ref _pending).Bytes + Volatile.Read(ref _committingBytes);

    /// <summary>The task of the running (or last) physical compaction, for tests.</summary>
    internal Task CompactionTask => _compaction;

    public static MvccStore Open(string path, MvccOptions options, ILogger logger)
    {
        path = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);

        // Leftovers of a defragmentation that did not finish: the real file was never replaced.
        foreach (string stale in Directory.EnumerateFiles(directory, Path.GetFileName(path) + ".defrag.*"))
        {
            File.Delete(stale);
        }

        // etcd's backend (a bbolt file, e.g. restored by etcdctl snapshot restore) becomes ours first.
        Bolt.BoltBackendFiles.ImportIfBolt(path, options, logger);
        LmdbBackend backend = LmdbBackend.Open(path, options);
        var store = new MvccStore(path, options, logger, backend);
        try
        {
            store.Restore();
            store.StartCommitter();
            return store;
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    public IDisposable Subscribe(Action<RevisionChanges> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_observersLock)
        {
            _observers = [.. _observers, observer];
        }

        return new Subscription(this, observer);
    }

    public void DisarmNoSpaceAlarm() => _noSpaceAlarm = false;

    public void CopySnapshotTo(string path)
    {
        ForceCommit();
        LmdbBackend backend = AcquireBackend();
        try
        {
            backend.Environment.CopyTo(path, compact: true).ThrowOnError();
        }
        finally
        {
            backend.Release();
        }
    }

    public void Dispose() => Close(commit: true);

    /// <summary>
    /// Test hook for crash tests: closes the store without committing what is applied but not yet
    /// in the backend, as a process crash would leave it (the backend at its last commit).
    /// </summary>
    internal void DisposeWithoutCommit() => Close(commit: false);

    private void Close(bool commit)
    {
        if (_disposed)
        {
            return;
        }

        _writerGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }
        finally
        {
            _writerGate.Release();
        }

        // A physical compaction in progress stops at its next step (it sees _disposed) and
        // resumes at the next open (scheduled > finished).
        try
        {
            _compaction.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogCompactionFailed(_logger, e);
        }

        StopCommitter(commit);
        _backend.Dispose();
        _indexLock.Dispose();
        _writerGate.Dispose();
        _defragGate.Dispose();
        _commitGate.Dispose();

        // _commitSignal is not disposed: a timer callback racing the stop may still release it.
    }

    internal static byte[] EncodeUInt64(ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }

    private void Restore()
    {
        using LightningTransaction txn = _backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
        ulong index = ReadMetaUInt64(txn, s_consistentIndexKey);
        ulong term = ReadMetaUInt64(txn, s_termKey);
        long scheduled = ReadMetaRevision(txn, s_scheduledCompactKey);
        long finished = ReadMetaRevision(txn, s_finishedCompactKey);
        _consistentIndex = new Position(new RaftPosition(index, term));
        _committedConsistentIndex = _consistentIndex;

        long current = 1;
        long keys = 0;
        using (LightningCursor cursor = txn.CreateCursor(_backend.Key))
        {
            for ((MDBResultCode rc, MDBValue k, MDBValue v) = cursor.First(); rc == MDBResultCode.Success; (rc, k, v) = cursor.Next())
            {
                ReadOnlySpan<byte> revisionKey = k.AsSpan();
                Revision revision = Revision.FromKey(revisionKey);
                KeyValue kv = KeyValue.Parser.ParseFrom(v.AsSpan());
                current = revision.Main;
                keys++;
                _index.Restore(kv.Key.Span, revision, Revision.IsTombstone(revisionKey), kv.CreateRevision, kv.Version);
            }
        }

        _compactMainRevision = Math.Max(0, finished);
        if (scheduled > finished)
        {
            // The last compaction was scheduled but its cleanup did not finish: redo it.
            _compactMainRevision = scheduled;
            HashSet<Revision> keep = _index.Compact(scheduled);
            using (ExecutionContext.SuppressFlow())
            {
                _compaction = Task.Run(() => RemoveCompactedAsync(scheduled, keep));
            }
        }

        _currentRevision = Math.Max(current, _compactMainRevision);
        _visibleRevision = _currentRevision;
        _backendSizeBytes = _backend.SizeBytes;
        _backendInUseBytes = _backend.SizeInUseBytes;
        LogRestored(_logger, _path, keys, _index.KeyCount, _currentRevision, _compactMainRevision, index);
    }

    private static ulong ReadMetaUInt64(LightningTransaction txn, LightningDatabase meta, byte[] key)
    {
        (MDBResultCode rc, _, MDBValue value) = txn.Get(meta, key);
        return rc == MDBResultCode.Success ? BinaryPrimitives.ReadUInt64BigEndian(value.AsSpan()) : 0;
    }

    private ulong ReadMetaUInt64(LightningTransaction txn, byte[] key) => ReadMetaUInt64(txn, _backend.Meta, key);

    private long ReadMetaRevision(LightningTransaction txn, byte[] key)
    {
        (MDBResultCode rc, _, MDBValue value) = txn.Get(_backend.Meta, key);
        return rc == MDBResultCode.Success ? Revision.FromKey(value.AsSpan()).Main : 0;
    }

    private LmdbBackend AcquireBackend()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            LmdbBackend backend = Volatile.Read(ref _backend);
            if (backend.TryAcquire())
            {
                return backend;
            }

            // Swapped out and drained between the read and the acquire: the new one is installed.
        }
    }

    private T WithBackend<T>(Func<LmdbBackend, T> read)
    {
        LmdbBackend backend = AcquireBackend();
        try
        {
            return read(backend);
        }
        finally
        {
            backend.Release();
        }
    }

    /// <summary>Whether the calling flow holds the writer gate (through a batch, a write transaction or a table write).</summary>
    private bool HoldsWriter => _flowWriterToken.Value is { } token && ReferenceEquals(token, Volatile.Read(ref _writerToken));

    /// <summary>
    /// Takes the writer gate, unless the calling flow holds it through its open batch; returns
    /// whether it took it.
    /// </summary>
    /// <param name="token">Identifies this holder (a <see cref="Batch"/> marks a batch); a new one when null.</param>
    private bool EnterWriter(object? token = null)
    {
        if (HoldsWriter)
        {
            if (_writerToken is Batch && token is not Batch)
            {
                return false;
            }

            throw new InvalidOperationException(token is Batch
                ? "mvcc: a batch or write transaction is already open in this flow"
                : "mvcc: this flow already holds a write transaction; write through it (IWriteTxn.Tables) or end it first");
        }

        _writerGate.Wait();
        token ??= new object();
        Volatile.Write(ref _writerToken, token);
        _flowWriterToken.Value = token;
        return true;
    }

    /// <summary>Releases the writer gate taken by <see cref="EnterWriter"/>, asking for a commit when the batch limit is reached.</summary>
    private void ExitWriter()
    {
        Volatile.Write(ref _writerToken, null);
        _flowWriterToken.Value = null;
        bool full = _pending.Ops.Count >= _options.BackendBatchLimit;
        _writerGate.Release();
        if (full)
        {
            RequestCommit();
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fault is not null)
        {
            throw new InvalidOperationException("mvcc: the store failed to commit earlier and must be reopened", _fault);
        }
    }

    private void Notify(RevisionChanges change)
    {
        foreach (Action<RevisionChanges> observer in Volatile.Read(ref _observers))
        {
            try
            {
                observer(change);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogObserverFailed(_logger, e);
            }
        }
    }

    /// <summary>A raft position as one reference, so readers on other threads never see it torn.</summary>
    private sealed record Position(RaftPosition Value);

    private sealed class Subscription(MvccStore store, Action<RevisionChanges> observer) : IDisposable
    {
        public void Dispose()
        {
            lock (store._observersLock)
            {
                store._observers = [.. store._observers.Where(o => o != observer)];
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "mvcc: restored {Path}: {Revisions} revisions, {Keys} keys, current revision {Current}, compacted {Compacted}, consistent index {ConsistentIndex}")]
    private static partial void LogRestored(ILogger logger, string path, long revisions, int keys, long current, long compacted, ulong consistentIndex);

    [LoggerMessage(Level = LogLevel.Error, Message = "mvcc: a change observer failed")]
    private static partial void LogObserverFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "mvcc: compaction failed")]
    private static partial void LogCompactionFailed(ILogger logger, Exception exception);
}
