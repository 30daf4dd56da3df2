using LightningDB;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Storage.Internal;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    // Catch-up rounds run while commits continue; once a round has fewer ops than this, the rest
    // is replayed with background commits paused (a few milliseconds of LMDB puts at most).
    // Writers and readers never pause: they work on the overlay and on reference-counted backends.
    private const int FinalReplayOps = 1000;
    private const int MaxCatchUpRounds = 16;
    private readonly SemaphoreSlim _defragGate = new(1, 1);
    private int _defragCount;

    /// <summary>Test hook: runs after the compacting copy, before the catch-up, while writers run.</summary>
    internal Action? DefragCopiedHook { get; set; }

    public async Task DefragmentAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        await _defragGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.Run(ForceCommit, cancellationToken).ConfigureAwait(false);
        string copyPath = $"{_path}.defrag.{Interlocked.Increment(ref _defragCount)}";
        LmdbBackend? copy = null;
        long before = DbSizeBytes;
        try
        {
            DeleteBackendFiles(copyPath);

            // 1. Record every commit from now on. Recording starts before the copy's snapshot, so
            //    replaying the whole record over the copy converges: each op is an absolute put or
            //    delete, and a key's last op wins.
            await _commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                lock (_defragLogLock)
                {
                    _defragLog = [];
                }
            }
            finally
            {
                _commitGate.Release();
            }

            // 2. The compacting copy reads one LMDB snapshot; LMDB readers never block the writer.
            LmdbBackend source = AcquireBackend();
            try
            {
                await Task.Run(() => source.Environment.CopyTo(copyPath, compact: true).ThrowOnError(), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                source.Release();
            }

            DefragCopiedHook?.Invoke();
            copy = LmdbBackend.Open(copyPath, _options);

            // 3. Catch up with what was committed meanwhile, writers still running.
            for (int round = 0; round < MaxCatchUpRounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                List<BackendOp[]> chunk = TakeDefragLog();
                Apply(copy, chunk.SelectMany(ops => ops));
                if (chunk.Sum(ops => ops.Length) < FinalReplayOps)
                {
                    break;
                }
            }

            // 4. Commits pause: replay the remainder, make the copy durable, put it in place.
            await _commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfUnusable();
                Apply(copy, TakeDefragLog().SelectMany(ops => ops));
                StopDefragLog();
                copy.Environment.Flush(force: true);
                File.Move(copyPath, _path, overwrite: true);
                PosixFile.SyncDirectory(Path.GetDirectoryName(_path)!);

                // Readers on the old backend finish on it (its file is unlinked, not gone); the
                // last one to release closes it.
                LmdbBackend old = _backend;
                Volatile.Write(ref _backend, copy);
                Volatile.Write(ref _backendSizeBytes, copy.SizeBytes);
                Volatile.Write(ref _backendInUseBytes, copy.SizeInUseBytes);
                copy = null;
                old.Dispose();
            }
            finally
            {
                _commitGate.Release();
            }

            LogDefragmented(_logger, _path, before, DbSizeBytes);
        }
        finally
        {
            StopDefragLog();
            if (copy is not null)
            {
                copy.Dispose();
                DeleteBackendFiles(copyPath);
            }

            _defragGate.Release();
        }
    }

    private static void DeleteBackendFiles(string path)
    {
        File.Delete(path);
        File.Delete(path + "-lock");
    }

    private List<BackendOp[]> TakeDefragLog()
    {
        lock (_defragLogLock)
        {
            List<BackendOp[]> taken = _defragLog ?? [];
            _defragLog = [];
            return taken;
        }
    }

    private void StopDefragLog()
    {
        lock (_defragLogLock)
        {
            _defragLog = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "mvcc: defragmented {Path}: {BeforeBytes} bytes before, {AfterBytes} after")]
    private static partial void LogDefragmented(ILogger logger, string path, long beforeBytes, long afterBytes);
}
