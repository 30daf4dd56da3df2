using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Platform.Common.Logging;
using Platform.Etcd.Grpc;
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
        if (https && (flags.CertFile.Value.Length == 0 || flags.KeyFile.Value.Length == 0))
        {
            throw new ConfigException("TLS key/cert (--cert-file, --key-file) must be provided for client url with HTTPS scheme");
        }

        if (flags.MaxRequestBytes.Value == 0 || flags.MaxRequestBytes.Value > int.MaxValue)
        {
            throw new ConfigException($"invalid --max-request-bytes {flags.MaxRequestBytes.Value}");
        }

        string name = flags.Name.Value;
        string dataDir = flags.DataDir.Value.Length > 0 ? flags.DataDir.Value : $"{name}.etcd";
        string initialCluster = flags.InitialCluster.Value.Length > 0
            ? flags.InitialCluster.Value
            : string.Join(',', advertisePeer.Select(u => $"{name}={u.OriginalString}"));

        // The peer transport (etcd's rafthttp) is not built yet: a member of a larger cluster could
        // never reach its peers, so say so instead of waiting for an election that cannot happen.
        string[] initialMembers = initialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (initialMembers.Select(m => m.Split('=')[0]).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            throw new ConfigException($"--initial-cluster {initialCluster} has more than one member; this etcd serves single-member clusters only so far (no peer transport yet)");
        }

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
            HeartbeatInterval = TimeSpan.FromMilliseconds(tickMs),
            ElectionTimeout = TimeSpan.FromMilliseconds(electionMs),
            QuotaBackendBytes = flags.QuotaBackendBytes.Value,
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

        var api = new EtcdApiOptions
        {
            ListenClientUrls = listenClient,
            ListenMetricsUrls = listenMetrics,
            MaxRequestBytes = (long)flags.MaxRequestBytes.Value,
            MaxTxnOps = (int)Math.Min(flags.MaxTxnOps.Value, int.MaxValue),
            EnableV2 = flags.EnableV2.Value,
            LogLevel = level,
            ClientTls = flags.CertFile.Value.Length > 0 && flags.KeyFile.Value.Length > 0
                ? new EtcdTlsOptions(
                    flags.CertFile.Value,
                    flags.KeyFile.Value,
                    flags.TrustedCaFile.Value.Length > 0 ? flags.TrustedCaFile.Value : null,
                    flags.ClientCertAuth.Value)
                : null,
        };

        return new EtcdConfig(server, api, level);
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

    /// <summary>"127.0.0.1:2379" as etcd prints listener addresses.</summary>
    public static string HostPort(Uri url) => url.Authority.Length > 0 ? url.Authority : url.Port.ToString(CultureInfo.InvariantCulture);
}
