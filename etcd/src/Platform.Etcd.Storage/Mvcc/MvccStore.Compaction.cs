using LightningDB;
using Microsoft.Extensions.Logging;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    public Task Compact(long revision)
    {
        ThrowIfUnusable();
        bool ownsGate = !_batchOpen;
        if (ownsGate)
        {
            _writerGate.Wait();
        }

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

            // Persist the intent first: a restart that finds scheduled > finished redoes the cleanup.
            _pending.Add(new BackendOp(true, s_scheduledCompactKey, new Revision(revision, 0).ToKey()));
            if (ownsGate)
            {
                CommitPending();
            }
        }
        finally
        {
            if (ownsGate)
            {
                _writerGate.Release();
            }
        }

        Task previous = _compaction;
        _compaction = Task.Run(async () =>
        {
            await previous.ConfigureAwait(false);
            await RemoveCompactedAsync(revision, keep).ConfigureAwait(false);
        });
        return _compaction;
    }

    /// <summary>
    /// Deletes from the key table every revision at or below <paramref name="revision"/> that is
    /// not in <paramref name="keep"/>, examining <see cref="MvccOptions.CompactionBatchLimit"/>
    /// revisions per writer turn, then records the compaction as finished.
    /// </summary>
    private async Task RemoveCompactedAsync(long revision, HashSet<Revision> keep)
    {
        byte[] next = new Revision(0, 0).ToKey();
        long removed = 0;
        while (true)
        {
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
                    _pending.Add(new BackendOp(false, key, null));
                }

                removed += doomed.Count;
                if (resume is null)
                {
                    _pending.Add(new BackendOp(true, s_finishedCompactKey, new Revision(revision, 0).ToKey()));
                    CommitPending();
                    LogCompacted(_logger, revision, removed);
                    return;
                }

                CommitPending();
                next = resume;
            }
            finally
            {
                _writerGate.Release();
            }

            // Let a waiting writer in before the next step.
            await Task.Yield();
        }
    }

    /// <returns>The keys to delete among the next batch, and where to continue (null when done).</returns>
    private (List<byte[]> Doomed, byte[]? Resume) ScanCompacted(byte[] from, long revision, HashSet<Revision> keep)
    {
        var doomed = new List<byte[]>();
        using LightningTransaction txn = _backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
        using LightningCursor cursor = txn.CreateCursor(_backend.Key);
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
