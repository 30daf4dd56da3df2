using Microsoft.Extensions.Logging;

namespace Platform.Etcd.Grpc;

/// <summary>How the client-facing API is served (etcd's client flags).</summary>
public sealed class EtcdApiOptions
{
    /// <summary>etcd's default for <c>--max-request-bytes</c>: 1.5 MiB.</summary>
    public const long DefaultMaxRequestBytes = 1572864;

    /// <summary>etcd's default for <c>--max-txn-ops</c>.</summary>
    public const int DefaultMaxTxnOps = 128;

    /// <summary>
    /// <c>--listen-client-urls</c>: <c>http://host:port</c> serves gRPC (h2c, prior knowledge) and
    /// HTTP/1.1 on one port; <c>https://</c> needs <see cref="ClientTls"/> and negotiates with ALPN.
    /// Port 0 binds an ephemeral port (see <see cref="IEtcdApiHost.ClientUrls"/>).
    /// </summary>
    public IReadOnlyList<Uri> ListenClientUrls { get; init; } = [new Uri("http://localhost:2379")];

    /// <summary><c>--listen-metrics-urls</c>: extra listeners serving only <c>/metrics</c> and <c>/health</c>.</summary>
    public IReadOnlyList<Uri> ListenMetricsUrls { get; init; } = [];

    /// <summary>
    /// <c>--max-request-bytes</c>: a write whose request is larger fails with "etcdserver: request
    /// is too large"; gRPC refuses messages larger than this plus 512 KiB (etcd's overhead allowance).
    /// </summary>
    public long MaxRequestBytes { get; init; } = DefaultMaxRequestBytes;

    /// <summary><c>--max-txn-ops</c>: the most operations a transaction's compare, success or failure list may hold.</summary>
    public int MaxTxnOps { get; init; } = DefaultMaxTxnOps;

    /// <summary><c>--enable-v2</c>: serve <c>/v2/keys</c>, <c>/v2/members</c> and <c>/v2/stats/*</c>.</summary>
    public bool EnableV2 { get; init; }

    /// <summary>TLS for <c>https://</c> client URLs (<c>--cert-file</c>, <c>--key-file</c>, ...); null for none.</summary>
    public EtcdTlsOptions? ClientTls { get; init; }

    /// <summary><c>--max-concurrent-streams</c>: HTTP/2 streams a client connection may have open at once (etcd: unlimited, 2^32 - 1).</summary>
    public long MaxConcurrentStreams { get; init; } = uint.MaxValue;

    /// <summary><c>--grpc-keepalive-interval</c>: idle time before the server pings a client connection; zero = never (etcd: 2 h).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromHours(2);

    /// <summary><c>--grpc-keepalive-timeout</c>: how long a ping may go unanswered before the connection is closed; zero = forever (etcd: 20 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary><c>--cors</c>: origins that get CORS headers on HTTP responses; empty or "*" = any (etcd's default).</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = ["*"];

    /// <summary>
    /// <c>--host-whitelist</c>: Host names a plain-HTTP (not TLS) request may name; others get 421
    /// (etcd's DNS-rebinding guard, CVE-2018-5702). Empty or "*" = any (etcd's default).
    /// </summary>
    public IReadOnlyList<string> HostWhitelist { get; init; } = ["*"];

    /// <summary>Minimum level of the JSON-line logs the HTTP host writes.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>How long in-flight requests may take to finish on shutdown.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Server-side TLS: certificate, key, and optionally verified client certificates.</summary>
/// <param name="CertFile">PEM certificate (chain) of the server.</param>
/// <param name="KeyFile">PEM private key of <paramref name="CertFile"/>.</param>
/// <param name="TrustedCaFile">PEM CA bundle that client certificates must chain to; null to use the system store.</param>
/// <param name="ClientCertAuth">Require and verify a client certificate; its common name becomes the user.</param>
public sealed record EtcdTlsOptions(string CertFile, string KeyFile, string? TrustedCaFile = null, bool ClientCertAuth = false);
