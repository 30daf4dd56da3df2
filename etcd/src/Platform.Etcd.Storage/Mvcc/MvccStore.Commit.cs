using Google.Protobuf;
using LightningDB;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// Background backend commits, etcd's batch transaction without its read buffer: writers apply to
/// <see cref="_pending"/> (visible to readers at once through the overlay); a committer thread,
/// woken by the interval timer or the batch limit, swaps the batch out between two writers and
/// writes it in one LMDB transaction (one fdatasync) with the consistent index, then drops it.
/// </summary>
internal sealed partial class MvccStore
{
    // One commit at a time: the committer thread, ForceCommit callers and defrag's final phase.
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private readonly SemaphoreSlim _commitSignal = new(0, 1);
    private int _commitRequested;
    private volatile bool _stopCommitter;
    private Thread? _committer;
    private ITimer? _commitTimer;

    // Backend pages in use after the last commit, and the bytes of the batch being committed:
    // the quota check reads these instead of LMDB, so applying never touches the backend.
    private long _backendSizeBytes;
    private long _committingBytes;
    private long _commitCount;

    // DbSizeBytes and DbSizeInUseBytes change only when a commit (or a defragmentation's swap)
    // does, so they are read there and served from _backendSizeBytes and this field: the server
    // reads them per put (quota) and per apply (metrics), where an LMDB environment query and a
    // read transaction each time cost about a microsecond and ~600 bytes of garbage a put.
    private long _backendInUseBytes;

    /// <summary>Backend commits that wrote something, for tests and benchmarks.</summary>
    internal long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Test hook: runs after each backend commit that wrote something, on the committing thread.</summary>
    internal Action? CommittedHook { get; set; }

    /// <summary>Revisions applied but not yet committed (in the overlay), for tests.</summary>
    internal int UncommittedRevisions
    {
        get
        {
            OverlaySet overlays = Volatile.Read(ref _overlays);
            _indexLock.EnterReadLock();
            try
            {
                return overlays.Pending.Changes.Count + (overlays.Committing?.Changes.Count ?? 0);
            }
            finally
            {
                _indexLock.ExitReadLock();
            }
        }
    }

    public void ForceCommit()
    {
        ThrowIfUnusable();
        Commit();
    }

    private void StartCommitter()
    {
        _committer = new Thread(CommitLoop) { IsBackground = true, Name = "mvcc-commit" };
        _committer.Start();
        TimeSpan interval = _options.BackendBatchInterval;
        if (interval != Timeout.InfiniteTimeSpan)
        {
            _commitTimer = _options.TimeProvider.CreateTimer(_ => RequestCommit(), null, interval, interval);
        }
    }

    /// <summary>Wakes the committer (at most one wake-up outstanding).</summary>
    private void RequestCommit()
    {
        if (Interlocked.Exchange(ref _commitRequested, 1) == 0)
        {
            _commitSignal.Release();
        }
    }

    private void CommitLoop()
    {
        while (true)
        {
            _commitSignal.Wait();
            Interlocked.Exchange(ref _commitRequested, 0);
            if (_stopCommitter)
            {
                return;
            }

            try
            {
                Commit();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Commit recorded the fault (writers now fail); nothing more to commit.
                return;
            }
        }
    }

    /// <summary>Stops the committer thread and timer; then makes the last commit unless simulating a crash.</summary>
    private void StopCommitter(bool commit)
    {
        _commitTimer?.Dispose();
        _stopCommitter = true;
        RequestCommit();
        _committer?.Join();
        if (commit && _fault is null)
        {
            Commit();
        }
    }

    /// <summary>
    /// Commits what is applied: waits for the writer to finish its unit, swaps the pending batch
    /// out (the writer carries on with a new one), writes it in one LMDB transaction with the
    /// consistent index, then drops it from the overlay. Returns when it is durable.
    /// </summary>
    private void Commit()
    {
        if (HoldsWriter)
        {
            throw new InvalidOperationException("mvcc: cannot commit from the flow that holds the writer (a write transaction or batch): commits fall between writers");
        }

        bool committed = false;
        _commitGate.Wait();
        try
        {
            if (_fault is { } fault)
            {
                throw new InvalidOperationException("mvcc: the store failed to commit earlier and must be reopened", fault);
            }

            // An async waiter is handed the gate by the writer's Release, so a writer that loops
            // cannot starve the committer; it is held for the swap only.
            _writerGate.WaitAsync().GetAwaiter().GetResult();
            PendingBatch batch;
            try
            {
                if (_pending.IsEmpty)
                {
                    return;
                }

                batch = _pending;
                _pending = new PendingBatch();
                Volatile.Write(ref _overlays, new OverlaySet(_pending, batch));
                Volatile.Write(ref _committingBytes, batch.Bytes);
            }
            finally
            {
                _writerGate.Release();
            }

            List<BackendOp> ops = batch.Ops;
            if (batch.ConsistentIndex is RaftPosition position)
            {
                ops.Add(new BackendOp(LmdbBackend.MetaTable, s_consistentIndexKey, EncodeUInt64(position.Index)));
                ops.Add(new BackendOp(LmdbBackend.MetaTable, s_termKey, EncodeUInt64(position.Term)));
            }

            LmdbBackend backend = _backend;
            try
            {
                Apply(backend, ops);
            }
            catch (Exception e)
            {
                // The batch is applied (readers saw it) but cannot be persisted; a store in that
                // state must be reopened and the WAL replayed (etcd panics here).
                _fault = e;
                LogCommitFailed(_logger, e);
                throw;
            }

            lock (_defragLogLock)
            {
                _defragLog?.Add([.. ops]);
            }

            if (batch.ConsistentIndex is RaftPosition persisted)
            {
                Volatile.Write(ref _committedConsistentIndex, new Position(persisted));
            }

            Volatile.Write(ref _backendSizeBytes, backend.SizeBytes);
            Volatile.Write(ref _backendInUseBytes, backend.SizeInUseBytes);
            Volatile.Write(ref _overlays, new OverlaySet(_pending, null));
            Volatile.Write(ref _committingBytes, 0);
            Interlocked.Increment(ref _commitCount);
            committed = true;
        }
        finally
        {
            _commitGate.Release();
        }

        if (committed)
        {
            CommittedHook?.Invoke();
        }
    }

    /// <summary>Writes <paramref name="ops"/> in one LMDB transaction (the committer's, or defrag's replay into its copy).</summary>
    private static void Apply(LmdbBackend backend, IEnumerable<BackendOp> ops)
    {
        List<(string Name, LightningDatabase Db)>? created = null;
        byte[] buffer = [];
        using (LightningTransaction txn = backend.Environment.BeginTransaction())
        {
            foreach (BackendOp op in ops)
            {
                LightningDatabase db = op.Table switch
                {
                    LmdbBackend.KeyTable => backend.Key,
                    LmdbBackend.MetaTable => backend.Meta,
                    _ => backend.OpenForWrite(txn, op.Table, ref created),
                };
                if (op.Kv is KeyValue kv)
                {
                    int size = kv.CalculateSize();
                    if (buffer.Length < size)
                    {
                        buffer = new byte[Math.Max(size, Math.Max(1024, buffer.Length * 2))];
                    }

                    kv.WriteTo(buffer.AsSpan(0, size));
                    txn.Put(db, op.Key, buffer.AsSpan(0, size)).ThrowOnError();
                }
                else if (op.Value is null)
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

        backend.Publish(created);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "mvcc: backend commit failed; the store must be reopened")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception);
}
