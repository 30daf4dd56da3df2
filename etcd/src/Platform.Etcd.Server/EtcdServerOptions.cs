using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Etcd.Server;

/// <summary>A running cluster a new member joins: its id and members (what its peers serve on <c>/members</c>).</summary>
public sealed record ExistingCluster(ulong ClusterId, IReadOnlyList<Platform.Etcd.Api.Member> Members);

/// <summary>
/// The configuration of one etcd member; defaults are etcd 3.4's (<c>etcd --help</c>). The
/// executable maps etcd's flags and <c>ETCD_*</c> variables onto it.
/// </summary>
public sealed class EtcdServerOptions
{
    /// <summary><c>--name</c>: this member's human-readable name.</summary>
    public string Name { get; init; } = "default";

    /// <summary><c>--data-dir</c>: holds <c>member/{wal,snap}</c> and <c>member/snap/db</c>.</summary>
    public required string DataDir { get; init; }

    /// <summary><c>--wal-dir</c>: a dedicated WAL directory; null = <c>&lt;data-dir&gt;/member/wal</c>.</summary>
    public string? WalDir { get; init; }

    /// <summary>
    /// <c>--initial-cluster</c>: <c>name=peerURL,...</c> of the bootstrap members. Null or empty =
    /// this member alone, at its <see cref="PeerUrls"/> (etcd's default is
    /// <c>default=http://localhost:2380</c>). Ignored on restart.
    /// </summary>
    public string? InitialCluster { get; set; }

    /// <summary><c>--initial-cluster-token</c>: mixed into member ids so clusters bootstrapped alike differ.</summary>
    public string InitialClusterToken { get; set; } = "etcd-cluster";

    /// <summary><c>--initial-cluster-state</c>: "new" or "existing" (joining; needs the clustering transport).</summary>
    public string InitialClusterState { get; init; } = "new";

    /// <summary>
    /// For <c>--initial-cluster-state existing</c>: the running cluster's id and members as one of
    /// them answered on its peer URL (<c>/members</c>); the executable fetches it before starting.
    /// </summary>
    public ExistingCluster? ExistingCluster { get; set; }

    /// <summary><c>--listen-client-urls</c>.</summary>
    public IReadOnlyList<string> ClientUrls { get; init; } = ["http://localhost:2379"];

    /// <summary><c>--advertise-client-urls</c>: published in the member list; null = <see cref="ClientUrls"/>.</summary>
    public IReadOnlyList<string>? AdvertiseClientUrls { get; init; }

    /// <summary><c>--initial-advertise-peer-urls</c>: this member's peer URLs (they make its id).</summary>
    public IReadOnlyList<string> PeerUrls { get; init; } = ["http://localhost:2380"];

    /// <summary><c>--snapshot-count</c>: applied entries between raft snapshots.</summary>
    public long SnapshotCount { get; init; } = 100_000;

    /// <summary>Entries kept in the in-memory raft log after a snapshot, for slow followers (etcd: 5,000).</summary>
    public long SnapshotCatchUpEntries { get; init; } = 5_000;

    /// <summary><c>--heartbeat-interval</c>: one raft tick.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>--election-timeout</c>: election ticks = ElectionTimeout / HeartbeatInterval.</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary><c>--quota-backend-bytes</c>: 0 = 2 GiB; negative = no quota.</summary>
    public long QuotaBackendBytes { get; init; }

    /// <summary><c>--backend-batch-interval</c>: the longest an applied change waits for its backend commit; zero or less = 100 ms.</summary>
    public TimeSpan BackendBatchInterval { get; init; }

    /// <summary><c>--backend-batch-limit</c>: applied backend ops that trigger a commit sooner; zero or less = 10,000.</summary>
    public int BackendBatchLimit { get; init; }

    /// <summary><c>--experimental-compaction-batch-limit</c>: revisions a compaction deletes per backend transaction; zero or less = 1,000.</summary>
    public int CompactionBatchLimit { get; init; }

    /// <summary><c>--auto-compaction-mode</c>: "periodic" or "revision".</summary>
    public string AutoCompactionMode { get; init; } = "periodic";

    /// <summary>
    /// <c>--auto-compaction-retention</c>: periodic = a duration ("1h", "30m", or a bare number of
    /// hours); revision = how many revisions to keep. "0" = off.
    /// </summary>
    public string AutoCompactionRetention { get; init; } = "0";

    /// <summary><c>--max-request-bytes</c>: also the watch fragmentation threshold.</summary>
    public int MaxRequestBytes { get; init; } = 1536 * 1024;

    /// <summary><c>--max-txn-ops</c>.</summary>
    public int MaxTxnOps { get; init; } = 128;

    /// <summary><c>--max-snapshots</c>: raft snapshot files kept.</summary>
    public int MaxSnapshotFiles { get; init; } = 5;

    /// <summary><c>--max-wals</c>: WAL segments kept.</summary>
    public int MaxWalFiles { get; init; } = 5;

    /// <summary><c>--enable-v2</c>: serve the v2 keys API (off by default in 3.4).</summary>
    public bool EnableV2 { get; init; }

    /// <summary>How often watchers with progress_notify get an empty response (etcd: 10 minutes).</summary>
    public TimeSpan WatchProgressNotifyInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Responses buffered per watch stream before a slow stream's watchers fall back to catching up from history (etcd: 128).</summary>
    public int WatchStreamBufferSize { get; init; } = 1024;

    /// <summary>
    /// How long a proposal may wait to be applied before failing with "etcdserver: request timed
    /// out"; null = etcd's 5 s + 2 × election timeout.
    /// </summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>TTL of simple auth tokens (etcd: 5 minutes).</summary>
    public TimeSpan SimpleTokenTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>bcrypt cost for new passwords (etcd: 10, the Go library's default).</summary>
    public int BcryptCost { get; init; } = 10;

    /// <summary>Delivers raft messages to peers; null = none (a single member sends nothing).</summary>
    public IRaftTransport? Transport { get; set; }

    /// <summary>The clock for ticks, leases, TTLs, tokens and compaction schedules.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    internal TimeSpan EffectiveRequestTimeout => RequestTimeout ?? TimeSpan.FromSeconds(5) + (2 * ElectionTimeout);

    internal IReadOnlyList<string> EffectiveAdvertiseClientUrls => AdvertiseClientUrls ?? ClientUrls;

    internal int ElectionTicks => Math.Max(2, (int)(ElectionTimeout.Ticks / Math.Max(1, HeartbeatInterval.Ticks)));

    /// <summary>ceil(1.5 × election timeout) in seconds: the minimum lease TTL (etcd server.go).</summary>
    internal long MinLeaseTtlSeconds => (long)Math.Ceiling(1.5 * ElectionTimeout.TotalSeconds);

    internal void Validate()
    {
        if (string.IsNullOrEmpty(DataDir))
        {
            throw new ArgumentException("data dir is required", nameof(DataDir));
        }

        if (HeartbeatInterval <= TimeSpan.Zero || ElectionTimeout < 5 * HeartbeatInterval)
        {
            throw new ArgumentException("--election-timeout should be at least 5 times greater than --heartbeat-interval");
        }

        if (InitialClusterState is not ("new" or "existing"))
        {
            throw new ArgumentException($"unexpected initial cluster state {InitialClusterState}");
        }

        if (AutoCompactionMode is not ("periodic" or "revision"))
        {
            throw new ArgumentException($"unknown auto-compaction-mode {AutoCompactionMode}");
        }

        if (SnapshotCount <= 0 || MaxTxnOps <= 0 || MaxRequestBytes <= 0)
        {
            throw new ArgumentException("snapshot count, max txn ops and max request bytes must be positive");
        }
    }
}
