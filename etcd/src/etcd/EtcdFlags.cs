using Platform.Common.Flags;

namespace Platform.Etcd.Main;

/// <summary>etcd 3.4's command-line flags (etcdmain/config.go), each also read from its <c>ETCD_*</c> variable.</summary>
internal sealed class EtcdFlags
{
    public EtcdFlags()
    {
        Set = new FlagSet("etcd", "ETCD");
        // Member.
        Name = Set.String("name", "default", "Human-readable name for this member.");
        DataDir = Set.String("data-dir", "", "Path to the data directory. (default \"${name}.etcd\")");
        WalDir = Set.String("wal-dir", "", "Path to the dedicated wal directory.");
        SnapshotCount = Set.UInt64("snapshot-count", 100000, "Number of committed transactions to trigger a snapshot to disk.");
        SnapshotCatchUpEntries = Set.UInt64("experimental-snapshot-catchup-entries", 5000, "Number of entries for a slow follower to catch up after compacting the raft storage entries.");
        HeartbeatInterval = Set.UInt64("heartbeat-interval", 100, "Time (in milliseconds) of a heartbeat interval.");
        ElectionTimeout = Set.UInt64("election-timeout", 1000, "Time (in milliseconds) for an election to timeout.");
        ListenPeerUrls = Set.StringList("listen-peer-urls", ["http://localhost:2380"], "List of URLs to listen on for peer traffic.");
        ListenClientUrls = Set.StringList("listen-client-urls", ["http://localhost:2379"], "List of URLs to listen on for client traffic.");
        ListenMetricsUrls = Set.StringList("listen-metrics-urls", [], "List of URLs to listen on for the metrics and health endpoints.");
        MaxSnapshots = Set.UInt64("max-snapshots", 5, "Maximum number of snapshot files to retain (0 is unlimited).");
        MaxWals = Set.UInt64("max-wals", 5, "Maximum number of wal files to retain (0 is unlimited).");
        QuotaBackendBytes = Set.Int64("quota-backend-bytes", 0, "Raise alarms when backend size exceeds the given quota. 0 means use the default quota.");
        BackendBatchInterval = Set.Duration("backend-batch-interval", TimeSpan.Zero, "The longest an applied change waits for its backend commit (0 = 100ms).");
        BackendBatchLimit = Set.Int("backend-batch-limit", 0, "Applied backend operations that trigger a commit before the interval is up (0 = 10000).");
        MaxConcurrentStreams = Set.UInt64("max-concurrent-streams", uint.MaxValue, "Maximum concurrent streams that each client can open at a time.");
        GrpcKeepAliveMinTime = Set.Duration("grpc-keepalive-min-time", TimeSpan.FromSeconds(5), "Minimum time a client should wait between pings (accepted; not enforced here).");
        GrpcKeepAliveInterval = Set.Duration("grpc-keepalive-interval", TimeSpan.FromHours(2), "Idle time before the server pings a client connection (0 to disable).");
        GrpcKeepAliveTimeout = Set.Duration("grpc-keepalive-timeout", TimeSpan.FromSeconds(20), "How long an unanswered ping waits before the connection is closed (0 to disable).");
        CompactionBatchLimit = Set.Int("experimental-compaction-batch-limit", 1000, "Revisions deleted per backend transaction by a compaction.");
        WatchProgressNotifyInterval = Set.Duration("experimental-watch-progress-notify-interval", TimeSpan.FromMinutes(10), "How often watchers that asked for progress notifications get one.");
        MaxTxnOps = Set.UInt64("max-txn-ops", 128, "Maximum number of operations permitted in a transaction.");
        MaxRequestBytes = Set.UInt64("max-request-bytes", 1572864, "Maximum client request size in bytes the server will accept.");
        // Clustering.
        InitialAdvertisePeerUrls = Set.StringList("initial-advertise-peer-urls", ["http://localhost:2380"], "List of this member's peer URLs to advertise to the rest of the cluster.");
        AdvertiseClientUrls = Set.StringList("advertise-client-urls", ["http://localhost:2379"], "List of this member's client URLs to advertise to the public.");
        InitialCluster = Set.String("initial-cluster", "", "Initial cluster configuration for bootstrapping. (default \"default=http://localhost:2380\")");
        Discovery = Set.String("discovery", "", "Discovery URL used to bootstrap the cluster.");
        DiscoveryFallback = Set.String("discovery-fallback", "proxy", "Expected behavior ('exit' or 'proxy') when discovery services fails. \"proxy\" supports v2 API only.");
        InitialClusterToken = Set.String("initial-cluster-token", "etcd-cluster", "Initial cluster token for the etcd cluster during bootstrap.");
        InitialClusterState = Set.String("initial-cluster-state", "new", "Initial cluster state ('new' or 'existing').");
        EnableV2 = Set.Bool("enable-v2", false, "Accept etcd V2 client requests.");
        Cors = Set.StringList("cors", ["*"], "Comma-separated origins allowed for CORS (empty or * means allow all).");
        HostWhitelist = Set.StringList("host-whitelist", ["*"], "Comma-separated hostnames plain-HTTP client requests may use (empty or * means allow all).");
        // Security.
        CertFile = Set.String("cert-file", "", "Path to the client server TLS cert file.");
        KeyFile = Set.String("key-file", "", "Path to the client server TLS key file.");
        ClientCertAuth = Set.Bool("client-cert-auth", false, "Enable client cert authentication.");
        AutoTls = Set.Bool("auto-tls", false, "Client TLS using generated certificates.");
        TrustedCaFile = Set.String("trusted-ca-file", "", "Path to the client server TLS trusted CA cert file.");
        PeerCertFile = Set.String("peer-cert-file", "", "Path to the peer server TLS cert file.");
        PeerKeyFile = Set.String("peer-key-file", "", "Path to the peer server TLS key file.");
        PeerAutoTls = Set.Bool("peer-auto-tls", false, "Peer TLS using generated certificates.");
        PeerClientCertAuth = Set.Bool("peer-client-cert-auth", false, "Enable peer client cert authentication.");
        PeerTrustedCaFile = Set.String("peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file.");
        PeerCertAllowedCn = Set.String("peer-cert-allowed-cn", "", "Allowed CN for inter peer authentication.");
        AuthToken = Set.String("auth-token", "simple", "Specify auth token specific options.");
        BcryptCost = Set.UInt64("bcrypt-cost", 10, "Specify bcrypt algorithm cost factor for auth password hashing.");
        AuthTokenTtl = Set.UInt64("auth-token-ttl", 300, "The lifetime in seconds of the auth token.");
        // Logging.
        Logger = Set.String("logger", "capnslog", "Specify 'zap' for structured logging or 'capnslog'. (Both write JSON lines here.)");
        LogOutputs = Set.StringList("log-outputs", ["default"], "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd.");
        LogLevel = Set.String("log-level", "info", "Configures log level. Only supports debug, info, warn, error, panic, or fatal. Default 'info'.");
        Debug = Set.Bool("debug", false, "[TO BE DEPRECATED IN v3.5] Enable debug-level logging for etcd. Use '--log-level=debug' instead.");
        // Compaction.
        AutoCompactionRetention = Set.String("auto-compaction-retention", "0", "Auto compaction retention for mvcc key value store. 0 means disable auto compaction.");
        AutoCompactionMode = Set.String("auto-compaction-mode", "periodic", "interpret 'auto-compaction-retention' one of: periodic|revision.");
        // Accepted for compatibility; no effect here.
        StrictReconfigCheck = Set.Bool("strict-reconfig-check", true, "Reject reconfiguration requests that would cause quorum loss.");
        PreVote = Set.Bool("pre-vote", false, "Enable to run an additional Raft election phase.");
        EnableGrpcGateway = Set.Bool("enable-grpc-gateway", true, "Enable GRPC gateway.");
        Metrics = Set.String("metrics", "basic", "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics");
        Version = Set.Bool("version", false, "Print the version and exit.");
    }

    public FlagSet Set { get; }

    public Flag<string> Name { get; }

    public Flag<string> DataDir { get; }

    public Flag<string> WalDir { get; }

    public Flag<ulong> SnapshotCount { get; }

    public Flag<ulong> SnapshotCatchUpEntries { get; }

    public Flag<ulong> HeartbeatInterval { get; }

    public Flag<ulong> ElectionTimeout { get; }

    public Flag<IReadOnlyList<string>> ListenPeerUrls { get; }

    public Flag<IReadOnlyList<string>> ListenClientUrls { get; }

    public Flag<IReadOnlyList<string>> ListenMetricsUrls { get; }

    public Flag<ulong> MaxSnapshots { get; }

    public Flag<ulong> MaxWals { get; }

    public Flag<long> QuotaBackendBytes { get; }

    public Flag<TimeSpan> BackendBatchInterval { get; }

    public Flag<int> BackendBatchLimit { get; }

    public Flag<ulong> MaxConcurrentStreams { get; }

    public Flag<TimeSpan> GrpcKeepAliveMinTime { get; }

    public Flag<TimeSpan> GrpcKeepAliveInterval { get; }

    public Flag<TimeSpan> GrpcKeepAliveTimeout { get; }

    public Flag<int> CompactionBatchLimit { get; }

    public Flag<TimeSpan> WatchProgressNotifyInterval { get; }

    public Flag<ulong> MaxTxnOps { get; }

    public Flag<ulong> MaxRequestBytes { get; }

    public Flag<IReadOnlyList<string>> InitialAdvertisePeerUrls { get; }

    public Flag<IReadOnlyList<string>> AdvertiseClientUrls { get; }

    public Flag<string> InitialCluster { get; }

    public Flag<string> Discovery { get; }

    public Flag<string> DiscoveryFallback { get; }

    public Flag<string> InitialClusterToken { get; }

    public Flag<string> InitialClusterState { get; }

    public Flag<IReadOnlyList<string>> Cors { get; }

    public Flag<IReadOnlyList<string>> HostWhitelist { get; }

    public Flag<bool> EnableV2 { get; }

    public Flag<string> CertFile { get; }

    public Flag<string> KeyFile { get; }

    public Flag<bool> AutoTls { get; }

    public Flag<bool> ClientCertAuth { get; }

    public Flag<string> TrustedCaFile { get; }

    public Flag<string> PeerCertFile { get; }

    public Flag<string> PeerKeyFile { get; }

    public Flag<bool> PeerAutoTls { get; }

    public Flag<bool> PeerClientCertAuth { get; }

    public Flag<string> PeerTrustedCaFile { get; }

    public Flag<string> PeerCertAllowedCn { get; }

    public Flag<string> AuthToken { get; }

    public Flag<ulong> BcryptCost { get; }

    public Flag<ulong> AuthTokenTtl { get; }

    public Flag<string> Logger { get; }

    public Flag<IReadOnlyList<string>> LogOutputs { get; }

    public Flag<string> LogLevel { get; }

    public Flag<bool> Debug { get; }

    public Flag<string> AutoCompactionRetention { get; }

    public Flag<string> AutoCompactionMode { get; }

    public Flag<bool> StrictReconfigCheck { get; }

    public Flag<bool> PreVote { get; }

    public Flag<bool> EnableGrpcGateway { get; }

    public Flag<string> Metrics { get; }

    public Flag<bool> Version { get; }
}
