namespace Platform.Etcd.Storage.Wal;

/// <summary>Tunables of the write-ahead log; the defaults are etcd's.</summary>
public sealed class WalOptions
{
    /// <summary>
    /// A segment is closed and a new one started once a save leaves the current one at or beyond
    /// this size; segments are preallocated to it. etcd: 64,000,000 bytes.
    /// </summary>
    public long SegmentSizeBytes { get; init; } = 64_000_000;

    /// <summary>A single record larger than this is treated as corruption when reading (etcd: 10 MiB).</summary>
    public long MaxRecordBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>An fdatasync slower than this is logged as a warning (etcd: 1 s).</summary>
    public TimeSpan SlowSyncWarning { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Prepare the next segment (<c>0.tmp</c>/<c>1.tmp</c>) in the background so a roll does not wait for fallocate.</summary>
    public bool PreallocateNextSegment { get; init; } = true;

    /// <summary>Clock for sync-duration measurement.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
