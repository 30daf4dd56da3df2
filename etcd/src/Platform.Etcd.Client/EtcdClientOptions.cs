namespace Platform.Etcd.Client;

/// <summary>
/// How to reach and authenticate to an etcd cluster. Mirrors etcdctl's global flags
/// (<c>--endpoints</c>, <c>--dial-timeout</c>, <c>--command-timeout</c>, <c>--user</c>,
/// <c>--cacert</c>, <c>--cert</c>, <c>--key</c>, <c>--insecure-skip-tls-verify</c>).
/// </summary>
public sealed class EtcdClientOptions
{
    /// <summary>
    /// Client URLs of the members, e.g. <c>http://127.0.0.1:2379</c> (HTTP/2 cleartext) or
    /// <c>https://10.0.0.1:2379</c> (TLS). At least one; a path, query or user info is refused.
    /// </summary>
    public IList<string> Endpoints { get; init; } = [];

    /// <summary>How long establishing one TCP (and TLS) connection may take before the endpoint counts as unreachable. Default 5 s.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Upper bound for one unary request including every retry and failover; when it expires the call
    /// fails with <see cref="EtcdClientException"/> carrying <see cref="Grpc.Core.StatusCode.DeadlineExceeded"/>.
    /// Streams (watch, keep-alive, snapshot) are not bounded by it. Default 10 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>With <see cref="Password"/>: authenticate and send the token (gRPC metadata <c>token</c>) on every request.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>PEM file with the CA certificates that sign the members' server certificates (etcdctl <c>--cacert</c>). Without it the system trust store is used.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate for mutual TLS (etcdctl <c>--cert</c>); needs <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key of <see cref="CertFile"/> (etcdctl <c>--key</c>).</summary>
    public string? KeyFile { get; init; }

    /// <summary>Accept any server certificate (etcdctl <c>--insecure-skip-tls-verify</c>). For tests only.</summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary>
    /// How long an endpoint whose connection failed is skipped by endpoint selection (it is still
    /// used when every endpoint is in that state). Default 5 s.
    /// </summary>
    public TimeSpan UnhealthyEndpointBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>HTTP/2 PING interval on otherwise idle connections, to notice dead peers under long-lived watches. Default 30 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock for timeouts, backoff and lease deadlines; tests may substitute a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
