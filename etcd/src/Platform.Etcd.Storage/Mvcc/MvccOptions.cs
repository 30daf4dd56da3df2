namespace Platform.Etcd.Storage.Mvcc;

/// <summary>Tunables of the MVCC store.</summary>
public sealed class MvccOptions
{
    /// <summary>The default quota, etcd's: 2 GiB.</summary>
    public const long DefaultQuotaBackendBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// <c>--quota-backend-bytes</c>: a put that would grow the backend beyond this fails with
    /// NoSpace and raises the alarm. 0 means <see cref="DefaultQuotaBackendBytes"/>; negative, no quota.
    /// </summary>
    public long QuotaBackendBytes { get; init; }

    /// <summary>The LMDB map (address space reserved, not disk used); 0 = twice the quota, at least 1 GiB (64 GiB without a quota).</summary>
    public long MapSizeBytes { get; init; }

    /// <summary>Key-table revisions deleted per backend transaction by compaction (etcd: 1,000).</summary>
    public int CompactionBatchLimit { get; init; } = 1000;

    /// <summary>
    /// Whether each backend commit is fdatasynced (default; LMDB MDB_NOMETASYNC: power-loss
    /// safe, one fdatasync per commit) or left to the OS (MDB_NOSYNC: survives a process crash,
    /// but a power loss can corrupt the backend).
    /// </summary>
    public bool SyncCommits { get; init; } = true;

    /// <summary>
    /// <c>--backend-batch-interval</c>: the longest an applied change waits for its backend commit
    /// (etcd: 100 ms). Commits run in the background, never on the apply path; applied changes
    /// are visible to readers at once. <see cref="Timeout.InfiniteTimeSpan"/>: only on the limit,
    /// <see cref="IKvStore.ForceCommit"/> and maintenance calls.
    /// </summary>
    public TimeSpan BackendBatchInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>--backend-batch-limit</c>: applied backend ops that trigger a commit before the interval is up (etcd: 10,000).</summary>
    public int BackendBatchLimit { get; init; } = 10_000;

    /// <summary>The clock of the commit interval.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Concurrent read transactions allowed (LMDB reader slots).</summary>
    public int MaxReaders { get; init; } = 1024;

    internal long EffectiveQuotaBytes => QuotaBackendBytes == 0 ? DefaultQuotaBackendBytes : QuotaBackendBytes;

    internal long EffectiveMapSizeBytes
    {
        get
        {
            if (MapSizeBytes > 0)
            {
                return MapSizeBytes;
            }

            long quota = EffectiveQuotaBytes;
            return quota < 0 ? 64L << 30 : Math.Max(2 * quota, 1L << 30);
        }
    }
}
