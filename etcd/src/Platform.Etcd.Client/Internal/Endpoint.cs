using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Platform.Etcd.Client.Internal;

/// <summary>
/// One member's client URL with its own <see cref="GrpcChannel"/> (one SocketsHttpHandler: HTTP/2
/// with prior knowledge over cleartext for http://, ALPN h2 over TLS for https://) and the
/// generated stubs bound to it.
/// </summary>
internal sealed class Endpoint : IDisposable
{
    private readonly GrpcChannel _channel;
    private long _unhealthyUntilTimestamp;

    private Endpoint(string address, GrpcChannel channel)
    {
        Address = address;
        _channel = channel;
        Kv = new Api.KV.KVClient(channel);
        Watch = new Api.Watch.WatchClient(channel);
        Lease = new Api.Lease.LeaseClient(channel);
        Cluster = new Api.Cluster.ClusterClient(channel);
        Maintenance = new Api.Maintenance.MaintenanceClient(channel);
        Auth = new Api.Auth.AuthClient(channel);
    }

    /// <summary>The endpoint as configured, without a trailing slash.</summary>
    public string Address { get; }

    public Api.KV.KVClient Kv { get; }

    public Api.Watch.WatchClient Watch { get; }

    public Api.Lease.LeaseClient Lease { get; }

    public Api.Cluster.ClusterClient Cluster { get; }

    public Api.Maintenance.MaintenanceClient Maintenance { get; }

    public Api.Auth.AuthClient Auth { get; }

    public static Endpoint Create(string endpoint, EtcdClientOptions options)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new ArgumentException($"endpoint {endpoint} is not an http:// or https:// URL of the form scheme://host:port", nameof(options));
        }

        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.DialTimeout,
            // etcd multiplexes every call on one connection; a second one opens only past the
            // server's stream limit (etcd: 2^32-1 by default, so practically never).
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = TlsOptions(options);
        }

        // Grpc.Net.Client sends every request as HTTP/2.0 with RequestVersionExact, which makes
        // SocketsHttpHandler speak HTTP/2 with prior knowledge (h2c) to http:// addresses: no switch needed.
        var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            ThrowOperationCanceledOnCancellation = true,
            // etcd's own client allows responses up to 2 GiB (MaxCallRecvMsgSize = math.MaxInt32).
            MaxReceiveMessageSize = int.MaxValue,
            MaxSendMessageSize = null,
        });
        return new Endpoint(endpoint.TrimEnd('/'), channel);
    }

    public bool IsHealthy(long nowTimestamp) => Volatile.Read(ref _unhealthyUntilTimestamp) <= nowTimestamp;

    public void MarkUnhealthy(long untilTimestamp) => Volatile.Write(ref _unhealthyUntilTimestamp, untilTimestamp);

    public void MarkHealthy() => Volatile.Write(ref _unhealthyUntilTimestamp, 0);

    public void Dispose() => _channel.Dispose();

    private static SslClientAuthenticationOptions TlsOptions(EtcdClientOptions options)
    {
        var ssl = new SslClientAuthenticationOptions();
        if ((options.CertFile is null) != (options.KeyFile is null))
        {
            throw new ArgumentException("CertFile and KeyFile go together", nameof(options));
        }

        if (options.CertFile is not null)
        {
            // Re-imported as PKCS#12 so the private key is not ephemeral (SslStream needs a persisted key on some platforms).
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(options.CertFile, options.KeyFile);
            ssl.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
        }

        if (options.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // Opt-in, documented as for tests only (etcdctl --insecure-skip-tls-verify).
            ssl.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (options.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(options.CaFile);
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }

        return ssl;
    }
}
