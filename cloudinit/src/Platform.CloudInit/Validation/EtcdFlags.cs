namespace Platform.CloudInit.Validation;

/// <summary>
/// The flags etcd 3.4 accepts (from <c>etcd --help</c> of Debian's etcd-server 3.4.23, the peer our
/// own etcd matches). A cloud-config key whose <c>--flag</c> form is missing here becomes an
/// <c>ETCD_*</c> variable etcd ignores with a warning.
/// </summary>
internal static class EtcdFlags
{
    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "advertise-client-urls", "auth-token", "auth-token-ttl", "auto-compaction-mode", "auto-compaction-retention",
        "auto-tls", "backend-batch-interval", "backend-batch-limit", "bcrypt-cost", "cert-file", "cipher-suites",
        "client-cert-allowed-hostname", "client-cert-auth", "client-crl-file", "cors", "data-dir", "debug", "discovery",
        "discovery-fallback", "discovery-proxy", "discovery-srv", "discovery-srv-name", "election-timeout", "enable-pprof",
        "enable-v2", "experimental-backend-bbolt-freelist-type", "experimental-compaction-batch-limit",
        "experimental-corrupt-check-time", "experimental-enable-lease-checkpoint", "experimental-enable-v2v3",
        "experimental-initial-corrupt-check", "experimental-peer-skip-client-san-verification",
        "experimental-warning-apply-duration", "experimental-watch-progress-notify-interval", "force-new-cluster",
        "grpc-keepalive-interval", "grpc-keepalive-min-time", "grpc-keepalive-timeout", "heartbeat-interval",
        "host-whitelist", "initial-advertise-peer-urls", "initial-cluster", "initial-cluster-state",
        "initial-cluster-token", "initial-election-tick-advance", "key-file", "listen-client-urls",
        "listen-metrics-urls", "listen-peer-urls", "log-level", "log-outputs", "log-package-levels", "logger",
        "max-concurrent-streams", "max-request-bytes", "max-snapshots", "max-txn-ops", "max-wals", "metrics", "name",
        "peer-auto-tls", "peer-cert-allowed-cn", "peer-cert-allowed-hostname", "peer-cert-file",
        "peer-client-cert-auth", "peer-crl-file", "peer-key-file", "peer-trusted-ca-file", "pre-vote", "proxy",
        "proxy-dial-timeout", "proxy-failure-wait", "proxy-read-timeout", "proxy-refresh-interval",
        "proxy-write-timeout", "quota-backend-bytes", "snapshot-count", "strict-reconfig-check", "trusted-ca-file",
        "wal-dir",
    };
}
