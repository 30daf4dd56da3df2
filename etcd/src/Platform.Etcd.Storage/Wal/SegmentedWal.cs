using System.Buffers;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Platform.Etcd.Storage.Internal;
using Platform.Etcd.Storage.Wal.Proto;
using Platform.Raft;

namespace Platform.Etcd.Storage.Wal;

/// <summary>The WAL implementation: see <see cref="IWriteAheadLog"/> and etcd/docs/ARCHITECTURE.md.</summary>
internal sealed partial class SegmentedWal : IWriteAheadLog
{
    // The logs open in this process, by directory: WriteAheadLog.ReadSnapshots reads under the
    // open log's lock so it never sees a frame half written.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SegmentedWal> s_open = new(StringComparer.Ordinal);
    private readonly WalOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<Segment> _segments;
    private readonly WalSnapshot _start;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private byte[] _entryBuffer = new byte[4096];
    private readonly SegmentPreparer _preparer;
    private byte[] _metadata = [];
    private HardState _state = new();
    private ulong _lastIndex;
    private uint _crc;
    private long _tailOffsetBytes;
    private bool _writable;
    private bool _readAll;
    private bool _disposed;

    private SegmentedWal(string directory, WalOptions options, ILogger logger, WalSnapshot start, List<Segment> segments)
    {
        Directory = directory;
        _options = options;
        _logger = logger;
        _start = start;
        _segments = segments;
        _preparer = new SegmentPreparer(directory, options.SegmentSizeBytes, options.PreallocateNextSegment);
    }

    public string Directory { get; }

    private Segment Tail => _segments[^1];

    /// <summary>Where the next frame goes in the last segment (tests locate records with it).</summary>
    internal long TailOffsetBytes => _tailOffsetBytes;

    /// <summary>The log open in this process at <paramref name="directory"/> (a full path), if any.</summary>
    public static SegmentedWal? FindOpen(string directory) => s_open.TryGetValue(directory, out SegmentedWal? wal) ? wal : null;

    /// <summary>Runs <paramref name="read"/> while no append, roll or repair is in progress.</summary>
    public T WhileLocked<T>(Func<T> read)
    {
        lock (_lock)
        {
            return read();
        }
    }

    /// <summary>The segments still locked, oldest first.</summary>
    internal IReadOnlyList<string> LockedSegmentPaths => _segments.Select(s => s.Path).ToList();

    public static SegmentedWal Create(string directory, ReadOnlySpan<byte> metadata, WalOptions options, ILogger logger)
    {
        directory = Path.GetFullPath(directory).TrimEnd('/');
        if (WriteAheadLog.Exists(directory))
        {
            throw new WalException($"wal: {directory} already holds a log");
        }

        // Build the log in a side directory and rename it into place, so a crash leaves either
        // no log or a complete first segment, never a half-written one under the real name.
        string temporary = directory + ".tmp";
        if (System.IO.Directory.Exists(temporary))
        {
            System.IO.Directory.Delete(temporary, recursive: true);
        }

        System.IO.Directory.CreateDirectory(temporary);
        var name = new SegmentName(0, 0);
        var handle = LockedFile.TryOpen(Path.Combine(temporary, name.FileName), FileMode.CreateNew)
            ?? throw new WalException($"wal: {temporary} is locked by another process");
        var wal = new SegmentedWal(directory, options, logger, WalSnapshot.Empty, [new Segment(Path.Combine(directory, name.FileName), name, handle)]);
        try
        {
            PosixFile.Preallocate(handle, options.SegmentSizeBytes);
            wal._metadata = metadata.ToArray();
            wal._writable = true;
            wal._readAll = true;
            wal.AppendCrcRecord(0);
            wal.Append(WalRecordType.Metadata, wal._metadata);
            wal.Append(WalRecordType.Snapshot, new Proto.WalSnapshot().ToByteArray());
            wal.WriteBuffer();
            PosixFile.DataSync(handle);

            if (System.IO.Directory.Exists(directory))
            {
                // Exists() said it holds no segment; an empty directory left by someone else is fine.
                System.IO.Directory.Delete(directory, recursive: false);
            }

            System.IO.Directory.Move(temporary, directory);
            PosixFile.SyncDirectory(Path.GetDirectoryName(directory)!);
            wal._preparer.Start();
            s_open[directory] = wal;
            return wal;
        }
        catch
        {
            wal.Dispose();
            throw;
        }
    }

    public static SegmentedWal Open(string directory, WalSnapshot snapshot, WalOptions options, ILogger logger)
    {
        directory = Path.GetFullPath(directory).TrimEnd('/');
        List<SegmentName> names = SegmentName.List(directory);
        if (names.Count == 0)
        {
            throw new WalException($"wal: no segment in {directory}");
        }

        for (int i = 1; i < names.Count; i++)
        {
            if (names[i].Sequence != names[i - 1].Sequence + 1)
            {
                throw new WalException($"wal: segment sequence gap between {names[i - 1].FileName} and {names[i].FileName} in {directory}");
            }
        }

        // The last segment whose first index is at or below the snapshot holds the entries right after it.
        int first = names.FindLastIndex(n => n.Index <= snapshot.Index);
        if (first < 0)
        {
            throw new WalException($"wal: no segment in {directory} holds index {snapshot.Index}");
        }

        var segments = new List<Segment>();
        try
        {
            foreach (SegmentName name in names.Skip(first))
            {
                string path = Path.Combine(directory, name.FileName);
                var handle = LockedFile.TryOpen(path, FileMode.Open)
                    ?? throw new WalException($"wal: segment {path} is locked by another process (is another server using {directory}?)");
                segments.Add(new Segment(path, name, handle));
            }
        }
        catch
        {
            segments.ForEach(s => s.Dispose());
            throw;
        }

        // We hold the live segments' locks, so no other instance owns the temporary files.
        SegmentPreparer.RemoveStale(directory);
        var wal = new SegmentedWal(directory, options, logger, snapshot, segments);
        s_open[directory] = wal;
        return wal;
    }

    public WalReadResult ReadAll()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_readAll)
            {
                throw new WalException("wal: ReadAll may be called once, right after Open");
            }

            byte[]? metadata = null;
            HardState state = new();
            var entries = new List<Entry>();
            bool matched = false;
            ulong lastIndex = 0;
            WalDecoder.Result result = WalDecoder.Decode(
                _segments.Select(s => (s.Path, s.Handle)).ToList(),
                _options.MaxRecordBytes,
                record =>
                {
                    switch ((WalRecordType)record.Type)
                    {
                        case WalRecordType.Entry:
                            Entry entry = Entry.Parser.ParseFrom(record.Data);
                            if (entry.Index > _start.Index)
                            {
                                // Raft may rewrite an uncommitted suffix: a later entry replaces
                                // everything from its index on.
                                ulong position = entry.Index - _start.Index - 1;
                                if (position > (ulong)entries.Count)
                                {
                                    throw new WalException($"wal: entry {entry.Index} follows entry {_start.Index + (ulong)entries.Count}: a gap in the log");
                                }

                                entries.RemoveRange((int)position, entries.Count - (int)position);
                                entries.Add(entry);
                            }

                            lastIndex = entry.Index;
                            break;
                        case WalRecordType.State:
                            state = HardState.Parser.ParseFrom(record.Data);
                            break;
                        case WalRecordType.Metadata:
                            if (metadata is not null && !record.Data.Span.SequenceEqual(metadata))
                            {
                                throw new WalException("wal: segments disagree on the log's metadata");
                            }

                            metadata ??= record.Data.ToByteArray();
                            break;
                        case WalRecordType.Snapshot:
                            Proto.WalSnapshot snapshot = Proto.WalSnapshot.Parser.ParseFrom(record.Data);
                            if (snapshot.Index == _start.Index)
                            {
                                if (snapshot.Term != _start.Term)
                                {
                                    throw new WalException($"wal: snapshot at index {_start.Index} has term {snapshot.Term} in the log, {_start.Term} was asked for");
                                }

                                matched = true;
                            }

                            break;
                        case WalRecordType.Crc:
                            break;
                        default:
                            throw new WalException($"wal: unknown record type {record.Type}");
                    }
                });

            if (!matched)
            {
                throw new WalException($"wal: snapshot at index {_start.Index} term {_start.Term} is not recorded in {Directory}");
            }

            if (result.TornReason is not null)
            {
                RepairTail(result);
            }

            _metadata = metadata ?? [];
            _state = state;
            _lastIndex = Math.Max(lastIndex, _start.Index);
            _crc = result.Crc;
            _tailOffsetBytes = result.TailValidBytes;
            _readAll = true;
            _writable = true;
            _preparer.Start();
            return new WalReadResult(_metadata, state.Clone(), entries);
        }
    }

    public void Save(HardState state, IReadOnlyList<Entry> entries)
    {
        lock (_lock)
        {
            ThrowIfNotWritable();
            bool emptyState = IsEmpty(state);
            if (emptyState && entries.Count == 0)
            {
                return;
            }

            // raft's MustSync: new entries, or a changed term or vote, must be on disk before
            // raft acts on them; a commit index alone can be recovered from the leader.
            bool mustSync = entries.Count != 0 || state.Vote != _state.Vote || state.Term != _state.Term;
            foreach (Entry entry in entries)
            {
                // Serialized into a reused buffer: no byte[] per entry.
                int size = entry.CalculateSize();
                if (_entryBuffer.Length < size)
                {
                    _entryBuffer = new byte[Math.Max(size, _entryBuffer.Length * 2)];
                }

                Span<byte> bytes = _entryBuffer.AsSpan(0, size);
                entry.WriteTo(bytes);
                Append(WalRecordType.Entry, bytes);
                _lastIndex = entry.Index;
            }

            if (!emptyState)
            {
                Append(WalRecordType.State, state.ToByteArray());
                _state = state.Clone();
            }

            WriteBuffer();
            if (_tailOffsetBytes < _options.SegmentSizeBytes)
            {
                if (mustSync)
                {
                    SyncTail();
                }

                return;
            }

            Cut();
        }
    }

    public void SaveSnapshot(WalSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            ThrowIfNotWritable();
            var record = new Proto.WalSnapshot { Index = snapshot.Index, Term = snapshot.Term, ConfState = snapshot.ConfState };
            Append(WalRecordType.Snapshot, record.ToByteArray());
            WriteBuffer();
            _lastIndex = Math.Max(_lastIndex, snapshot.Index);
            SyncTail();
        }
    }

    public void ReleaseLockTo(ulong index)
    {
        lock (_lock)
        {
            ThrowIfDisposed();

            // Keep the segment that holds index: the last one whose first index is at or below it.
            int keep = _segments.FindLastIndex(s => s.Name.Index <= index);
            if (keep <= 0)
            {
                return;
            }

            for (int i = 0; i < keep; i++)
            {
                _segments[i].Dispose();
            }

            _segments.RemoveRange(0, keep);
        }
    }

    public void Sync()
    {
        lock (_lock)
        {
            ThrowIfNotWritable();
            SyncTail();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            s_open.TryRemove(new KeyValuePair<string, SegmentedWal>(Directory, this));
            try
            {
                if (_writable && _segments.Count > 0)
                {
                    PosixFile.DataSync(Tail.Handle);
                }
            }
            finally
            {
                _preparer.Dispose();
                _segments.ForEach(s => s.Dispose());
                _segments.Clear();
            }
        }
    }

    internal static bool IsEmpty(HardState state) => state.Term == 0 && state.Vote == 0 && state.Commit == 0;

    private void RepairTail(WalDecoder.Result result)
    {
        Segment tail = Tail;
        string broken = KeepBrokenCopy(tail, result.TailValidBytes);
        LogRepairedTail(_logger, tail.Path, result.TailValidBytes, result.TailLengthBytes - result.TailValidBytes, result.TornReason!, broken);

        // Cut at the last valid frame and re-extend with zeros: appends continue right there.
        RandomAccess.SetLength(tail.Handle, result.TailValidBytes);
        PosixFile.Preallocate(tail.Handle, Math.Max(_options.SegmentSizeBytes, result.TailValidBytes));
        PosixFile.DataSync(tail.Handle);
    }

    /// <summary>
    /// Before cutting a torn tail, keeps the segment as it was (up to its last non-zero byte, so
    /// not the preallocated zeros) in <c>*.wal.broken</c>, fsynced, as etcd's Repair does: the
    /// bytes being dropped stay available for diagnosis. A later repair of the same segment
    /// replaces it.
    /// </summary>
    /// <returns>The copy's path.</returns>
    private static string KeepBrokenCopy(Segment tail, long validBytes)
    {
        long length = RandomAccess.GetLength(tail.Handle);
        long end = validBytes;
        byte[] buffer = new byte[1 << 20];
        for (long offset = validBytes; offset < length;)
        {
            int read = RandomAccess.Read(tail.Handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - offset)), offset);
            if (read == 0)
            {
                break;
            }

            int last = buffer.AsSpan(0, read).LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
            {
                end = offset + last + 1;
            }

            offset += read;
        }

        string path = tail.Path + ".broken";
        using (SafeFileHandle copy = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
        {
            for (long offset = 0; offset < end;)
            {
                int read = RandomAccess.Read(tail.Handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
                if (read == 0)
                {
                    break;
                }

                RandomAccess.Write(copy, buffer.AsSpan(0, read), offset);
                offset += read;
            }

            PosixFile.DataSync(copy);
        }

        PosixFile.SyncDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    private void Cut()
    {
        // Close the full segment at its exact length: readers rely on closed segments having no
        // zeroed tail, and the size is made durable before the next segment may exist.
        Segment previous = Tail;
        RandomAccess.SetLength(previous.Handle, _tailOffsetBytes);
        PosixFile.DataSync(previous.Handle);

        var name = new SegmentName(previous.Name.Sequence + 1, _lastIndex + 1);
        string path = Path.Combine(Directory, name.FileName);
        (string temporaryPath, var handle) = _preparer.Take();
        _segments.Add(new Segment(path, name, handle));
        _tailOffsetBytes = 0;
        AppendCrcRecord(_crc);
        Append(WalRecordType.Metadata, _metadata);
        if (!IsEmpty(_state))
        {
            Append(WalRecordType.State, _state.ToByteArray());
        }

        WriteBuffer();
        PosixFile.DataSync(handle);

        // The segment only counts once it has its name; until the rename a crash leaves a *.tmp
        // that the next Open deletes, and the log ends with the previous segment.
        File.Move(temporaryPath, path);
        PosixFile.SyncDirectory(Directory);
        LogCreatedSegment(_logger, path);
    }

    private void AppendCrcRecord(uint crc)
    {
        WalFrame.Write(_buffer, new WalRecord { Type = (long)WalRecordType.Crc, Crc = crc });
    }

    private void Append(WalRecordType type, ReadOnlySpan<byte> data)
    {
        _crc = Crc32C.Update(_crc, data);
        WalFrame.Write(_buffer, (long)type, _crc, data);
    }

    private void WriteBuffer()
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

#if PLATFORM_FAILPOINTS
        Failpoints.Failpoint.EvaluateWrite(Tail.Handle, _buffer.WrittenSpan, _tailOffsetBytes);
#endif
        RandomAccess.Write(Tail.Handle, _buffer.WrittenSpan, _tailOffsetBytes);
        _tailOffsetBytes += _buffer.WrittenCount;
        _buffer.ResetWrittenCount();
    }

    private void SyncTail()
    {
        long start = _options.TimeProvider.GetTimestamp();
#if PLATFORM_FAILPOINTS
        Failpoints.Failpoint.Evaluate(Failpoints.Failpoint.WalFsync);
#endif
        PosixFile.DataSync(Tail.Handle);
        TimeSpan took = _options.TimeProvider.GetElapsedTime(start);
        if (took > _options.SlowSyncWarning)
        {
            LogSlowSync(_logger, took.TotalMilliseconds, _options.SlowSyncWarning.TotalMilliseconds);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfNotWritable()
    {
        ThrowIfDisposed();
        if (!_writable)
        {
            throw new WalException("wal: call ReadAll before appending to an opened log");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "wal: repaired torn tail of {Path}: cut at offset {ValidBytes}, zeroing the {DroppedBytes} bytes after it ({Reason}); the segment as it was is kept in {BrokenPath}")]
    private static partial void LogRepairedTail(ILogger logger, string path, long validBytes, long droppedBytes, string reason, string brokenPath);

    [LoggerMessage(Level = LogLevel.Information, Message = "wal: created segment {Path}")]
    private static partial void LogCreatedSegment(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "wal: slow fdatasync took {TookMs} ms, expected less than {ExpectedMs} ms")]
    private static partial void LogSlowSync(ILogger logger, double tookMs, double expectedMs);
}
