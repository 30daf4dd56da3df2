using Platform.Etcd.Storage.Mvcc;
using Prometheus;

namespace Platform.Etcd.Server.Metrics;

/// <summary>
/// etcd's Prometheus metrics under etcd's names (etcdserver/metrics.go, wal/metrics.go,
/// mvcc/metrics.go), in prometheus-net's default registry so the executable's /metrics serves
/// them. One process normally runs one member; in tests several members share the series.
/// </summary>
internal static class ServerMetrics
{
    private static readonly Gauge s_hasLeader = Prometheus.Metrics.CreateGauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.");
    private static readonly Gauge s_isLeader = Prometheus.Metrics.CreateGauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.");
    private static readonly Counter s_leaderChanges = Prometheus.Metrics.CreateCounter("etcd_server_leader_changes_seen_total", "The number of leader changes seen.");
    private static readonly Gauge s_committed = Prometheus.Metrics.CreateGauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.");
    private static readonly Gauge s_applied = Prometheus.Metrics.CreateGauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.");
    private static readonly Gauge s_pending = Prometheus.Metrics.CreateGauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.");
    private static readonly Counter s_failed = Prometheus.Metrics.CreateCounter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.");
    private static readonly Counter s_snapshots = Prometheus.Metrics.CreateCounter("etcd_server_snapshots_total", "The total number of raft snapshots taken (ours).");
    private static readonly Histogram s_walFsync = Prometheus.Metrics.CreateHistogram(
        "etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    private static readonly Histogram s_backendCommit = Prometheus.Metrics.CreateHistogram(
        "etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    private static readonly Gauge s_dbTotalSize = Prometheus.Metrics.CreateGauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.");
    private static readonly Gauge s_dbInUse = Prometheus.Metrics.CreateGauge("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.");
    private static readonly Gauge s_debugDbSize = Prometheus.Metrics.CreateGauge("etcd_debugging_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.");
    private static readonly Gauge s_currentRevision = Prometheus.Metrics.CreateGauge("etcd_debugging_mvcc_current_revision", "The current revision of store.");
    private static readonly Gauge s_compactRevision = Prometheus.Metrics.CreateGauge("etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store.");
    private static readonly Gauge s_quota = Prometheus.Metrics.CreateGauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.");
    private static readonly Gauge s_watchers = Prometheus.Metrics.CreateGauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.");
    private static readonly Gauge s_slowWatchers = Prometheus.Metrics.CreateGauge("etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.");
    private static readonly Gauge s_leases = Prometheus.Metrics.CreateGauge("etcd_debugging_lease_total", "The number of leases (ours).");

    public static Gauge HasLeader => s_hasLeader;

    public static Gauge IsLeader => s_isLeader;

    public static Counter LeaderChanges => s_leaderChanges;

    public static Gauge ProposalsCommitted => s_committed;

    public static Gauge ProposalsApplied => s_applied;

    public static Gauge ProposalsPending => s_pending;

    public static Counter ProposalsFailed => s_failed;

    public static Counter Snapshots => s_snapshots;

    public static Histogram WalFsyncSeconds => s_walFsync;

    public static Histogram BackendCommitSeconds => s_backendCommit;

    public static Gauge Watchers => s_watchers;

    public static Gauge SlowWatchers => s_slowWatchers;

    public static Gauge Leases => s_leases;

    public static void SetQuota(long bytes) => s_quota.Set(bytes);

    public static void UpdateStore(IKvStore kv)
    {
        long size = kv.DbSizeBytes;
        s_dbTotalSize.Set(size);
        s_debugDbSize.Set(size);
        s_dbInUse.Set(kv.DbSizeInUseBytes);
        s_currentRevision.Set(kv.CurrentRevision);
        s_compactRevision.Set(kv.CompactedRevision);
    }

    public static void Reset()
    {
        s_hasLeader.Set(0);
        s_isLeader.Set(0);
    }
}
