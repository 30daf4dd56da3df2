using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Platform.Etcd.Storage.Internal;
using Platform.Raft;

namespace Platform.Etcd.Storage.Wal;

/// <summary>Creates, opens and maintains write-ahead logs (<c>member/wal</c>).</summary>
public static class WriteAheadLog
{
    /// <summary>Whether <paramref name="directory"/> holds at least one segment.</summary>
    public static bool Exists(string directory) =>
        System.IO.Directory.Exists(directory) && SegmentName.List(directory).Count > 0;

    /// <summary>
    /// Creates a log in <paramref name="directory"/> (which must not hold one) with its first
    /// segment, <paramref name="metadata"/> and the empty snapshot marker, durable on return.
    /// The result is ready to append.
    /// </summary>
    public static IWriteAheadLog Create(string directory, ReadOnlySpan<byte> metadata, WalOptions? options = null, ILogger? logger = null) =>
        SegmentedWal.Create(directory, metadata, options ?? new WalOptions(), logger ?? NullLogger.Instance);

    /// <summary>
    /// Opens the log at <paramref name="snapshot"/> (the marker of the snapshot the state machine
    /// was restored from, <see cref="WalSnapshot.Empty"/> without one), locking every segment
    /// from the one holding that index on. Call <see cref="IWriteAheadLog.ReadAll"/> next.
    /// </summary>
    /// <exception cref="WalException">No segments, a sequence gap, or a segment locked by another holder.</exception>
    public static IWriteAheadLog Open(string directory, WalSnapshot snapshot, WalOptions? options = null, ILogger? logger = null) =>
        SegmentedWal.Open(directory, snapshot, options ?? new WalOptions(), logger ?? NullLogger.Instance);

    /// <summary>
    /// The snapshot markers in the log whose index is committed by the last hard state, oldest
    /// first: the snapshots the log can be opened at (pair with
    /// <c>ISnapshotter.LoadNewestAvailable</c>). Reads without repairing and without taking the
    /// segments' locks, so it may be called at any time: before <see cref="Open"/> (the server's
    /// restart: pick the snapshot, then open the log at it) or while this process has the log
    /// open (the read then waits for the log's current <c>Save</c>, so it never sees a frame half
    /// written). While another process appends to the log, the last frame may be seen half
    /// written: it is then treated as a torn tail (left out), or rarely reported as corrupt;
    /// read again.
    /// </summary>
    public static IReadOnlyList<WalSnapshot> ReadSnapshots(string directory, WalOptions? options = null)
    {
        options ??= new WalOptions();
        directory = Path.GetFullPath(directory).TrimEnd('/');
        SegmentedWal? open = SegmentedWal.FindOpen(directory);
        return open is null ? ReadSnapshotsCore(directory, options) : open.WhileLocked(() => ReadSnapshotsCore(directory, options));
    }

    private static List<WalSnapshot> ReadSnapshotsCore(string directory, WalOptions options)
    {
        // A purge may delete the oldest segments between listing and opening: list again.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return ReadSnapshotsOnce(directory, options);
            }
            catch (FileNotFoundException) when (attempt < 3)
            {
            }
        }
    }

    private static List<WalSnapshot> ReadSnapshotsOnce(string directory, WalOptions options)
    {
        List<SegmentName> names = SegmentName.List(directory);
        var handles = new List<(string Path, SafeFileHandle Handle)>();
        try
        {
            foreach (SegmentName name in names)
            {
                string path = Path.Combine(directory, name.FileName);
                handles.Add((path, PosixFile.OpenReadOnlyUnlocked(path)));
            }

            var snapshots = new List<WalSnapshot> { WalSnapshot.Empty };
            var state = new HardState();
            if (handles.Count > 0)
            {
                WalDecoder.Decode(handles, options.MaxRecordBytes, record =>
                {
                    if (record.Type == (long)WalRecordType.Snapshot)
                    {
                        Proto.WalSnapshot s = Proto.WalSnapshot.Parser.ParseFrom(record.Data);
                        snapshots.Add(new WalSnapshot(s.Index, s.Term, s.ConfState));
                    }
                    else if (record.Type == (long)WalRecordType.State)
                    {
                        state = HardState.Parser.ParseFrom(record.Data);
                    }
                });
            }

            // A marker above the commit index may belong to a snapshot that never finished.
            return snapshots.Where(s => s.Index <= state.Commit).DistinctBy(s => (s.Index, s.Term)).ToList();
        }
        finally
        {
            handles.ForEach(h => h.Handle.Dispose());
        }
    }

    /// <summary>
    /// Deletes the oldest segments while more than <paramref name="maxSegments"/> remain, stopping
    /// at the first one still locked by an open log (see <see cref="IWriteAheadLog.ReleaseLockTo"/>).
    /// etcd's server runs this periodically with <c>--max-wals</c> (default 5).
    /// </summary>
    /// <returns>The deleted paths.</returns>
    public static IReadOnlyList<string> Purge(string directory, int maxSegments, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSegments);
        var deleted = new List<string>();
        List<SegmentName> names = SegmentName.List(directory);
        for (int i = 0; i < names.Count - maxSegments; i++)
        {
            string path = Path.Combine(directory, names[i].FileName);
            using (SafeFileHandle? handle = LockedFile.TryOpen(path, FileMode.Open))
            {
                if (handle is null)
                {
                    break;
                }

                // Delete while holding the lock, so no one can open it in between.
                File.Delete(path);
            }

            deleted.Add(path);
            (logger ?? NullLogger.Instance).LogInformation("wal: purged segment {Path}", path);
        }

        if (deleted.Count > 0)
        {
            PosixFile.SyncDirectory(directory);
        }

        return deleted;
    }
}
