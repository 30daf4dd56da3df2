using Prometheus;

namespace Platform.Etcd.Peer;

/// <summary>etcd's rafthttp metrics under etcd's names (etcdserver/api/rafthttp/metrics.go).</summary>
internal static class PeerMetrics
{
    private static readonly Histogram s_rtt = Metrics.CreateHistogram(
        "etcd_network_peer_round_trip_time_seconds",
        "Round-Trip-Time histogram between peers",
        new HistogramConfiguration { LabelNames = ["To"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    private static readonly Counter s_sent = Metrics.CreateCounter("etcd_network_peer_sent_bytes_total", "The total number of bytes sent to peers.", "To");
    private static readonly Counter s_received = Metrics.CreateCounter("etcd_network_peer_received_bytes_total", "The total number of bytes received from peers.", "From");
    private static readonly Counter s_sentFailures = Metrics.CreateCounter("etcd_network_peer_sent_failures_total", "The total number of send failures from peers.", "To");
    private static readonly Counter s_receiveFailures = Metrics.CreateCounter("etcd_network_peer_received_failures_total", "The total number of receive failures from peers.", "From");
    private static readonly Histogram s_snapshotSend = Metrics.CreateHistogram(
        "etcd_network_snapshot_send_total_duration_seconds",
        "Total latency distributions of v3 snapshot sends",
        new HistogramConfiguration { LabelNames = ["To"], Buckets = Histogram.ExponentialBuckets(0.1, 2, 14) });

    public static void Rtt(ulong to, double seconds) => s_rtt.WithLabels(Id(to)).Observe(seconds);

    public static void Sent(ulong to, long bytes) => s_sent.WithLabels(Id(to)).Inc(bytes);

    public static void Received(ulong from, long bytes) => s_received.WithLabels(Id(from)).Inc(bytes);

    public static void SendFailed(ulong to) => s_sentFailures.WithLabels(Id(to)).Inc();

    public static void ReceiveFailed(ulong from) => s_receiveFailures.WithLabels(Id(from)).Inc();

    public static void SnapshotSent(ulong to, double seconds) => s_snapshotSend.WithLabels(Id(to)).Observe(seconds);

    private static string Id(ulong id) => id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}
