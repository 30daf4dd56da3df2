using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Platform.Common.Logging;
using Platform.Etcd.Grpc;
using Platform.Etcd.Peer;
using Platform.Etcd.Server;

namespace Platform.Etcd.Main;

/// <summary>A flag combination etcd refuses; the message is etcd's (embed/config.go Validate).</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Parsed, validated flags: what the server and the API host need.</summary>
internal sealed record EtcdConfig(EtcdServerOptions Server, EtcdApiOptions Api, LogLevel LogLevel)
{
    /// <summary>The peer listener and transport (<c>--listen-peer-urls</c>, <c>--peer-*</c> TLS flags).</summary>
    public PeerTransportOptions Peer { get; init; } = new();

    /// <summary><c>--auto-tls</c> without <c>--cert-file</c>/<c>--key-file</c>: the pair to generate before serving, or null.</summary>
    public SelfSignedCertificate? ClientSelfCert { get; init; }

    /// <summary><c>--peer-auto-tls</c> without <c>--peer-cert-file</c>/<c>--peer-key-file</c>: the pair to generate before listening, or null.</summary>
    public SelfSignedCertificate? PeerSelfCert { get; init; }

    /// <summary><c>--discovery</c>: the etcd v2 discovery URL that gives the initial cluster, or null.</summary>
    public string? DiscoveryUrl { get; init; }

    /// <summary>The other members' peer URLs from <c>--initial-cluster</c> (asked for the member list when joining).</summary>
    public IReadOnlyList<string> OtherPeerUrls { get; init; } = [];

    // etcd caps the election timeout at 50 s (embed.maxElectionMs).
    private const ulong MaxElectionMs = 50000;

    /// <summary>Applies etcd's defaults and checks, in etcd's order, throwing <see cref="ConfigException"/>.</summary>
    public static EtcdConfig From(EtcdFlags flags, ILoggerFactory? loggerFactory = null)
    {
        LogLevel level = flags.Debug.Value ? LogLevel.Debug : PlatformLogging.ParseLevel(flags.LogLevel.Value)
            ?? throw new ConfigException($"unknown log level \"{flags.LogLevel.Value}\"");
        if (flags.Logger.Value is not ("zap" or "capnslog"))
        {
            throw new ConfigException($"unknown logger option {flags.Logger.Value}");
        }

        IReadOnlyList<Uri> listenPeer = Urls(flags.ListenPeerUrls.Value, "listen-peer-urls");
        IReadOnlyList<Uri> listenClient = Urls(flags.ListenClientUrls.Value, "listen-client-urls");
        IReadOnlyList<Uri> listenMetrics = Urls(flags.ListenMetricsUrls.Value, "listen-metrics-urls");
        IReadOnlyList<Uri> advertisePeer = Urls(flags.InitialAdvertisePeerUrls.Value, "initial-advertise-peer-urls");
        IReadOnlyList<Uri> advertiseClient = Urls(flags.AdvertiseClientUrls.Value, "advertise-client-urls");
        CheckBindUrls(listenPeer);
        CheckBindUrls(listenClient);
        CheckBindUrls(listenMetrics);
        CheckHostUrls(advertisePeer, "--initial-advertise-peer-urls");
        CheckHostUrls(advertiseClient, "--advertise-client-urls");

        if (flags.InitialClusterState.Value is not ("new" or "existing"))
        {
            throw new ConfigException($"unexpected clusterState \"{flags.InitialClusterState.Value}\"");
        }

        ulong tickMs = flags.HeartbeatInterval.Value;
        ulong electionMs = flags.ElectionTimeout.Value;
        if (tickMs == 0)
        {
            throw new ConfigException($"--heartbeat-interval must be >0 (set to {tickMs}ms)");
        }

        if (electionMs == 0)
        {
            throw new ConfigException($"--election-timeout must be >0 (set to {electionMs}ms)");
        }

        if (5 * tickMs > electionMs)
        {
            throw new ConfigException($"--election-timeout[{electionMs}ms] should be at least as 5 times as --heartbeat-interval[{tickMs}ms]");
        }

        if (electionMs > MaxElectionMs)
        {
            throw new ConfigException($"--election-timeout[{electionMs}ms] is too long, and should be set less than {MaxElectionMs}ms");
        }

        // Listening on chosen addresses but advertising the default would send clients elsewhere.
        if (flags.ListenClientUrls.IsSet && !flags.AdvertiseClientUrls.IsSet)
        {
            throw new ConfigException("--advertise-client-urls is required when --listen-client-urls is set explicitly");
        }

        if (flags.AutoCompactionMode.Value is not ("periodic" or "revision"))
        {
            throw new ConfigException($"unknown auto-compaction-mode \"{flags.AutoCompactionMode.Value}\"");
        }

        bool https = listenClient.Any(u => u.Scheme == "https");
        bool clientAutoTls = flags.AutoTls.Value && (flags.CertFile.Value.Length == 0 || flags.KeyFile.Value.Length == 0);
        if (https && !clientAutoTls && (flags.CertFile.Value.Length == 0 || flags.KeyFile.Value.Length == 0))
        {
            throw new ConfigException("TLS key/cert (--cert-file, --key-file) must be provided for client url with HTTPS scheme");
        }

        if (flags.MaxRequestBytes.Value == 0 || flags.MaxRequestBytes.Value > int.MaxValue)
        {
            throw new ConfigException($"invalid --max-request-bytes {flags.MaxRequestBytes.Value}");
        }

        if (flags.Discovery.Value.Length > 0 && flags.InitialCluster.IsSet)
        {
            throw new ConfigException("multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\"");
        }

        string name = flags.Name.Value;
        string dataDir = flags.DataDir.Value.Length > 0 ? flags.DataDir.Value : $"{name}.etcd";
        string initialCluster = flags.InitialCluster.Value.Length > 0
            ? flags.InitialCluster.Value
            : string.Join(',', advertisePeer.Select(u => $"{name}={u.OriginalString}"));

        var initialMembers = new List<(string Name, string Url)>();
        foreach (string part in initialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1)
            {
                throw new ConfigException($"invalid value \"{initialCluster}\" for flag -initial-cluster: missing = in \"{part}\"");
            }

            initialMembers.Add((part[..eq], part[(eq + 1)..]));
        }

        // etcd's embed config: the local member must be in --initial-cluster with its advertised peer URLs.
        var advertised = advertisePeer.Select(u => u.OriginalString).Order(StringComparer.Ordinal).ToList();
        var listed = initialMembers.Where(m => m.Name == name).Select(m => m.Url).Order(StringComparer.Ordinal).ToList();
        if (listed.Count == 0)
        {
            throw new ConfigException($"couldn't find local name \"{name}\" in the initial cluster configuration");
        }

        if (!listed.Select(NormalizeUrl).SequenceEqual(advertised.Select(NormalizeUrl)))
        {
            throw new ConfigException(
                $"--initial-cluster has {name}={string.Join(",", listed)} but missing from --initial-advertise-peer-urls={string.Join(",", advertisePeer.Select(u => u.OriginalString))} (resolved urls: \"{string.Join(",", listed)}\" != \"{string.Join(",", advertised)}\")");
        }

        var duplicates = initialMembers.GroupBy(m => NormalizeUrl(m.Url)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new ConfigException($"--initial-cluster {initialCluster} has duplicate url {duplicates[0]}");
        }

        bool peerHttps = listenPeer.Concat(advertisePeer).Any(u => u.Scheme == "https");
        bool peerAutoTls = flags.PeerAutoTls.Value && (flags.PeerCertFile.Value.Length == 0 || flags.PeerKeyFile.Value.Length == 0);
        if (peerHttps && !peerAutoTls && (flags.PeerCertFile.Value.Length == 0 || flags.PeerKeyFile.Value.Length == 0))
        {
            throw new ConfigException("TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url with HTTPS scheme");
        }

        // The peer pair serves and dials (server and client authentication), for the listen URLs' hosts.
        SelfSignedCertificate? peerSelfCert = peerAutoTls && peerHttps
            ? new SelfSignedCertificate(Path.Combine(dataDir, "fixtures", "peer"), [.. listenPeer.Select(u => u.Host)], ClientAuthentication: true)
            : null;
        var peer = new PeerTransportOptions
        {
            ListenPeerUrls = listenPeer,
            Tls = flags.PeerCertFile.Value.Length > 0 && flags.PeerKeyFile.Value.Length > 0
                ? new PeerTlsOptions(
                    flags.PeerCertFile.Value,
                    flags.PeerKeyFile.Value,
                    flags.PeerTrustedCaFile.Value.Length > 0 ? flags.PeerTrustedCaFile.Value : null,
                    flags.PeerClientCertAuth.Value)
                : peerSelfCert is not null ? new PeerTlsOptions(peerSelfCert.CertFile, peerSelfCert.KeyFile) { InsecureSkipVerify = true } : null,
            LoggerFactory = loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
        };

        // A joining member asks the others (not itself) for the member list.
        IReadOnlyList<string> otherPeers = [.. initialMembers.Where(m => m.Name != name).Select(m => m.Url)];

        var server = new EtcdServerOptions
        {
            Name = name,
            DataDir = dataDir,
            WalDir = flags.WalDir.Value.Length > 0 ? flags.WalDir.Value : null,
            InitialCluster = initialCluster,
            InitialClusterToken = flags.InitialClusterToken.Value,
            InitialClusterState = flags.InitialClusterState.Value,
            ClientUrls = [.. listenClient.Select(u => u.OriginalString)],
            AdvertiseClientUrls = [.. advertiseClient.Select(u => u.OriginalString)],
            PeerUrls = [.. advertisePeer.Select(u => u.OriginalString)],
            SnapshotCount = (long)Math.Min(flags.SnapshotCount.Value, long.MaxValue),
            SnapshotCatchUpEntries = (long)Math.Clamp(flags.SnapshotCatchUpEntries.Value, 1UL, long.MaxValue),
            HeartbeatInterval = TimeSpan.FromMilliseconds(tickMs),
            ElectionTimeout = TimeSpan.FromMilliseconds(electionMs),
            QuotaBackendBytes = flags.QuotaBackendBytes.Value,
            BackendBatchInterval = flags.BackendBatchInterval.Value,
            BackendBatchLimit = flags.BackendBatchLimit.Value,
            CompactionBatchLimit = flags.CompactionBatchLimit.Value,
            WatchProgressNotifyInterval = flags.WatchProgressNotifyInterval.Value > TimeSpan.Zero ? flags.WatchProgressNotifyInterval.Value : TimeSpan.FromMinutes(10),
            AutoCompactionMode = flags.AutoCompactionMode.Value,
            AutoCompactionRetention = flags.AutoCompactionRetention.Value,
            MaxRequestBytes = (int)flags.MaxRequestBytes.Value,
            MaxTxnOps = (int)Math.Min(flags.MaxTxnOps.Value, int.MaxValue),
            MaxSnapshotFiles = (int)Math.Min(flags.MaxSnapshots.Value, int.MaxValue),
            MaxWalFiles = (int)Math.Min(flags.MaxWals.Value, int.MaxValue),
            EnableV2 = flags.EnableV2.Value,
            SimpleTokenTtl = TimeSpan.FromSeconds(flags.AuthTokenTtl.Value),
            BcryptCost = (int)Math.Clamp(flags.BcryptCost.Value, 4UL, 31UL),
            LoggerFactory = loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
        };

        // etcd generates the pair only for https client URLs; a client cert check cannot work with it.
        SelfSignedCertificate? selfCert = clientAutoTls && https
            ? new SelfSignedCertificate(Path.Combine(dataDir, "fixtures", "client"), [.. listenClient.Select(u => u.Host)])
            : null;
        var api = new EtcdApiOptions
        {
            ListenClientUrls = listenClient,
            ListenMetricsUrls = listenMetrics,
            MaxRequestBytes = (long)flags.MaxRequestBytes.Value,
            MaxTxnOps = (int)Math.Min(flags.MaxTxnOps.Value, int.MaxValue),
            MaxConcurrentStreams = (long)Math.Min(flags.MaxConcurrentStreams.Value, uint.MaxValue),
            KeepAliveInterval = flags.GrpcKeepAliveInterval.Value,
            KeepAliveTimeout = flags.GrpcKeepAliveTimeout.Value,
            CorsOrigins = flags.Cors.Value,
            HostWhitelist = flags.HostWhitelist.Value,
            EnableV2 = flags.EnableV2.Value,
            LogLevel = level,
            ClientTls = flags.CertFile.Value.Length > 0 && flags.KeyFile.Value.Length > 0
                ? new EtcdTlsOptions(
                    flags.CertFile.Value,
                    flags.KeyFile.Value,
                    flags.TrustedCaFile.Value.Length > 0 ? flags.TrustedCaFile.Value : null,
                    flags.ClientCertAuth.Value)
                : selfCert is not null ? new EtcdTlsOptions(selfCert.CertFile, selfCert.KeyFile) : null,
        };

        return new EtcdConfig(server, api, level)
        {
            Peer = peer,
            OtherPeerUrls = otherPeers,
            DiscoveryUrl = flags.Discovery.Value.Length > 0 ? flags.Discovery.Value : null,
            ClientSelfCert = selfCert,
            PeerSelfCert = peerSelfCert,
        };
    }

    private static List<Uri> Urls(IReadOnlyList<string> values, string flag)
    {
        var urls = new List<Uri>(values.Count);
        foreach (string value in values)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? url) || url.Scheme is not ("http" or "https" or "unix" or "unixs"))
            {
                throw new ConfigException($"invalid value \"{string.Join(',', values)}\" for flag -{flag}: URL scheme must be one of: http, https, unix or unixs: {value}");
            }

            if (url.AbsolutePath is not ("/" or ""))
            {
                throw new ConfigException($"invalid value \"{string.Join(',', values)}\" for flag -{flag}: URL must not contain a path: {value}");
            }

            urls.Add(url);
        }

        return urls;
    }

    // etcd binds IPs only (plus the special name localhost).
    private static void CheckBindUrls(IReadOnlyList<Uri> urls)
    {
        foreach (Uri url in urls)
        {
            if (url.Scheme is "unix" or "unixs")
            {
                throw new ConfigException($"unix socket URLs are not supported here ({url.OriginalString})");
            }

            if (url.Host == "localhost")
            {
                continue;
            }

            if (!IPAddress.TryParse(url.Host.Trim('[', ']'), out _))
            {
                throw new ConfigException($"expected IP in URL for binding ({url.OriginalString})");
            }
        }
    }

    private static void CheckHostUrls(IReadOnlyList<Uri> urls, string flag)
    {
        foreach (Uri url in urls)
        {
            if (url.Host.Length == 0)
            {
                throw new ConfigException($"{flag} \"{string.Join(',', urls.Select(u => u.OriginalString))}\" must be \"host:port\" (unexpected empty host ({url.OriginalString}))");
            }
        }
    }

    // etcd compares URLs after parsing: "http://127.0.0.1:2380" and "http://127.0.0.1:2380/" are one.
    private static string NormalizeUrl(string url) => url.TrimEnd('/');

    /// <summary>"127.0.0.1:2379" as etcd prints listener addresses.</summary>
    public static string HostPort(Uri url) => url.Authority.Length > 0 ? url.Authority : url.Port.ToString(CultureInfo.InvariantCulture);
}
