using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Etcd.Peer;

/// <summary>The peer side of one member: where it listens for peers and how it reaches them.</summary>
public sealed class PeerTransportOptions
{
    /// <summary><c>--listen-peer-urls</c>: http:// or https:// with an IP (or localhost) and a port (0 = any free port).</summary>
    public IReadOnlyList<Uri> ListenPeerUrls { get; init; } = [new Uri("http://localhost:2380")];

    /// <summary>
    /// Messages queued per peer before new ones are dropped and the peer reported unreachable
    /// (etcd's streamBufSize: 4,096).
    /// </summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>First wait before reconnecting a broken stream; doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>TCP connect timeout for peer connections (etcd's dial timeout is 1 s).</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often each peer's round trip time is probed (etcd_network_peer_round_trip_time_seconds).</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>TLS for the peer listener and for connections to peers (https:// peer URLs); null = none.</summary>
    public PeerTlsOptions? Tls { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// <c>--peer-cert-file</c>, <c>--peer-key-file</c>, <c>--peer-trusted-ca-file</c>,
/// <c>--peer-client-cert-auth</c>: the certificate this member presents (as server and as client),
/// the CA peers' certificates must chain to, and whether the listener requires client certificates.
/// </summary>
public sealed record PeerTlsOptions(string CertFile, string KeyFile, string? TrustedCaFile = null, bool ClientCertAuth = false)
{
    /// <summary>
    /// Accept any certificate a peer's listener presents (<c>--peer-auto-tls</c>: every member's
    /// certificate is self-signed, as etcd's transport does for its generated pairs).
    /// </summary>
    public bool InsecureSkipVerify { get; init; }
}
