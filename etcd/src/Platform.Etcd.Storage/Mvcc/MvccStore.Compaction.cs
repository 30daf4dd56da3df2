using LightningDB;
using Microsoft.Extensions.Logging;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    public Task Compact(long revision)
    {
        ThrowIfUnusable();
        bool ownsGate = EnterWriter();
        HashSet<Revision> keep;
        try
        {
            if (revision <= _compactMainRevision)
            {
                throw new MvccException(MvccError.Compacted);
            }

            if (revision > _currentRevision)
            {
                throw new MvccException(MvccError.FutureRevision);
            }

            _indexLock.EnterWriteLock();
            try
            {
                Volatile.Write(ref _compactMainRevision, revision);
                keep = _index.Compact(revision);
            }
            finally
            {
                _indexLock.ExitWriteLock();
            }

            // The intent goes with the next commit: a restart that finds scheduled > finished
            // redoes the cleanup (and one that does not find it replays the compaction's entry).
            _pending.Add(new BackendOp(LmdbBackend.MetaTable, s_scheduledCompactKey, new Revision(revision, 0).ToKey()));
        }
        finally
        {
            if (ownsGate)
            {
                ExitWriter();
            }
        }

        // Not in the caller's flow: the cleanup must not count as the caller's batch.
        Task previous = _compaction;
        using (ExecutionContext.SuppressFlow())
        {
            _compaction = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                await RemoveCompactedAsync(revision, keep).ConfigureAwait(false);
            });
        }

        return _compaction;
    }

    /// <summary>
    /// Deletes from the key table every revision at or below <paramref name="revision"/> that is
    /// not in <paramref name="keep"/>, examining <see cref="MvccOptions.CompactionBatchLimit"/>
    /// revisions per writer turn, then records the compaction as finished. The deletes go out with
    /// the background commits like any write.
    /// </summary>
    private async Task RemoveCompactedAsync(long revision, HashSet<Revision> keep)
    {
        // The scan reads the backend: first get every revision up to the compaction into it.
        Commit();
        byte[] next = new Revision(0, 0).ToKey();
        long removed = 0;
        while (true)
        {
            bool full;
            await _writerGate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_disposed)
                {
                    return;
                }

                (List<byte[]> doomed, byte[]? resume) = ScanCompacted(next, revision, keep);
                foreach (byte[] key in doomed)
                {
                    _pending.Add(new BackendOp(LmdbBackend.KeyTable, key, null));
                }

                removed += doomed.Count;
                if (resume is null)
                {
                    _pending.Add(new BackendOp(LmdbBackend.MetaTable, s_finishedCompactKey, new Revision(revision, 0).ToKey()));
                    LogCompacted(_logger, revision, removed);
                    return;
                }

                next = resume;
                full = _pending.Ops.Count >= _options.BackendBatchLimit;
            }
            finally
            {
                _writerGate.Release();
            }

            if (full)
            {
                RequestCommit();
            }

            // Let a waiting writer in before the next step.
            await Task.Yield();
        }
    }

    /// <returns>The keys to delete among the next batch, and where to continue (null when done).</returns>
    private (List<byte[]> Doomed, byte[]? Resume) ScanCompacted(byte[] from, long revision, HashSet<Revision> keep)
    {
        var doomed = new List<byte[]>();
        LmdbBackend backend = AcquireBackend();
        try
        {
            return ScanCompacted(backend, from, revision, keep, doomed);
        }
        finally
        {
            backend.Release();
        }
    }

    private (List<byte[]> Doomed, byte[]? Resume) ScanCompacted(LmdbBackend backend, byte[] from, long revision, HashSet<Revision> keep, List<byte[]> doomed)
    {
        using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
        using LightningCursor cursor = txn.CreateCursor(backend.Key);
        int examined = 0;
        MDBResultCode rc = cursor.SetRange(from);
        while (rc == MDBResultCode.Success)
        {
            (_, MDBValue k, _) = cursor.GetCurrent();
            ReadOnlySpan<byte> key = k.AsSpan();
            Revision r = Revision.FromKey(key);
            if (r.Main > revision)
            {
                return (doomed, null);
            }

            if (examined == _options.CompactionBatchLimit)
            {
                return (doomed, key.ToArray());
            }

            examined++;
            if (!keep.Contains(r))
            {
                doomed.Add(key.ToArray());
            }

            (rc, _, _) = cursor.Next();
        }

        return (doomed, null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "mvcc: finished compaction at revision {Revision}: {Removed} revisions removed")]
    private static partial void LogCompacted(ILogger logger, long revision, long removed);
}
