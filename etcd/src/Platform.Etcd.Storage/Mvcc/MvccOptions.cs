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
