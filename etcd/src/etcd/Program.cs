using Microsoft.Extensions.Logging;
using Platform.Common.Flags;
using Platform.Common.Hosting;
using Platform.Common.Logging;
using Platform.Etcd.Grpc;
using Platform.Etcd.Main;
using Platform.Etcd.Peer;
using Platform.Etcd.Server;

// etcd: parse etcd 3.4's flags, start the member, serve clients until SIGTERM/SIGINT.
var flags = new EtcdFlags();
FlagParseResult parsed;
try
{
    parsed = flags.Set.Parse(args);
}
catch (FlagParseException e)
{
    // Go's flag package: the error, then usage, exit status 2.
    Console.Error.WriteLine(e.Message);
    Console.Error.Write(flags.Set.Usage());
    return 2;
}

// etcd's --initial-cluster-state is a selective value: the flag parser refuses anything else.
if (flags.InitialClusterState.Value is not ("new" or "existing"))
{
    Console.Error.WriteLine($"invalid value \"{flags.InitialClusterState.Value}\" for flag -initial-cluster-state: invalid value");
    Console.Error.Write(flags.Set.Usage());
    return 2;
}

if (parsed.HelpRequested)
{
    Console.Out.Write(flags.Set.Usage());
    return 0;
}

if (flags.Version.Value)
{
    Console.Out.WriteLine($"etcd Version: {EtcdVersion.Server}");
    Console.Out.WriteLine("Git SHA: Platform (C#)");
    Console.Out.WriteLine($"Go Version: .NET {Environment.Version}");
    Console.Out.WriteLine($"Go OS/Arch: linux/{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}");
    return 0;
}

if (parsed.Positional.Count > 0)
{
    return VerifyFailed($"'{parsed.Positional[0]}' is not a valid flag");
}

LogLevel level = flags.Debug.Value ? LogLevel.Debug : PlatformLogging.ParseLevel(flags.LogLevel.Value) ?? LogLevel.Information;
using ILoggerFactory loggerFactory = LoggerFactory.Create(builder =>
{
    builder.AddPlatformJson(level);
    // Kestrel warns that HTTP/2 needs TLS on plain endpoints; the API layer's h2c detection makes it work.
    builder.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
    // Per-request lines etcd does not print; while this category is enabled at any level, hosting
    // also creates an Activity (ids, tags, a log scope) for every request.
    builder.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
});
ILogger log = loggerFactory.CreateLogger("etcd");
foreach (string warning in parsed.Warnings)
{
    log.LogWarning("{Warning}", warning);
}

EtcdConfig config;
try
{
    config = EtcdConfig.From(flags, loggerFactory);
}
catch (ConfigException e)
{
    return VerifyFailed(e.Message);
}

foreach ((SelfSignedCertificate? selfCert, string flag) in (ReadOnlySpan<(SelfSignedCertificate?, string)>)[(config.ClientSelfCert, "--auto-tls"), (config.PeerSelfCert, "--peer-auto-tls")])
{
    try
    {
        if (selfCert is not null && selfCert.Ensure())
        {
            log.LogInformation("generated a self-signed certificate for {Flag} in {Directory}", flag, selfCert.Directory);
        }
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
    {
        log.LogCritical(e, "cannot generate the {Flag} certificate in {Directory}", flag, selfCert!.Directory);
        return 1;
    }
}

using var shutdown = new ShutdownSignal();
using (log.BeginScope(new Dictionary<string, object>
{
    ["etcd-version"] = EtcdVersion.Server,
    ["name"] = config.Server.Name,
    ["data-dir"] = config.Server.DataDir,
    ["listen-client-urls"] = config.Server.ClientUrls,
    ["advertise-client-urls"] = config.Server.AdvertiseClientUrls ?? [],
    ["initial-cluster"] = config.Server.InitialCluster ?? "",
    ["initial-cluster-state"] = config.Server.InitialClusterState,
}))
{
    log.LogInformation("starting an etcd server");
}

// The peer listener comes first: peers (and a joining member's own /members question to them)
// need it, and etcd binds it before starting the server.
IPeerTransport peer = PeerTransports.Create(config.Peer);
await using (peer)
{
    try
    {
        await peer.StartListeningAsync(shutdown.Token);
    }
    catch (Exception e) when (e is IOException or ArgumentException or System.Security.Cryptography.CryptographicException)
    {
        log.LogCritical(e, "failed to listen on peer URLs");
        return 1;
    }

    config.Server.Transport = peer;
    string walDir = config.Server.WalDir ?? Path.Combine(config.Server.DataDir, "member", "wal");
    bool hasWal = Directory.Exists(walDir) && Directory.EnumerateFiles(walDir, "*.wal").Any();
    if (config.DiscoveryUrl is string discoveryUrl && !hasWal)
    {
        // etcd's v2 discovery: the service gives the initial cluster; the URL is the cluster token.
        try
        {
            ulong self = EtcdServers.ComputeMemberId(config.Server.PeerUrls, discoveryUrl);
            config.Server.InitialCluster = await Discovery.JoinAsync(discoveryUrl, config.Server.Name, config.Server.PeerUrls, self, TimeSpan.FromMinutes(5), log, shutdown.Token);
            config.Server.InitialClusterToken = discoveryUrl;
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return 0;
        }
        catch (DiscoveryException e)
        {
            log.LogCritical("{Error}", e.Message);
            return 1;
        }
    }

    if (config.Server.InitialClusterState == "existing" && !hasWal)
    {
        try
        {
            config.Server.ExistingCluster = await PeerTransports.FetchExistingClusterAsync(config.OtherPeerUrls, config.Peer.Tls, TimeSpan.FromSeconds(10), shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return 0;
        }
        catch (EtcdException e)
        {
            log.LogCritical(e, "failed to join the existing cluster");
            return 1;
        }
    }

    int? exit = await ServeAsync(config, flags, log, loggerFactory, shutdown);
    if (exit is int code)
    {
        return code;
    }
}

log.LogInformation("stopped etcd server");
return 0;

// Runs the member and its client API until a signal (null) or a startup failure (the exit status).
static async Task<int?> ServeAsync(EtcdConfig config, EtcdFlags flags, ILogger log, ILoggerFactory loggerFactory, ShutdownSignal shutdown)
{
    IEtcdServer server;
    try
    {
        server = await EtcdServers.StartAsync(config.Server, shutdown.Token);
    }
    catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
    {
        return 0;
    }
    catch (Exception e) when (e is EtcdException or ArgumentException or IOException or UnauthorizedAccessException)
    {
        log.LogCritical(e, "failed to start etcd server");
        return 1;
    }

    await using (server)
    {
        IEtcdApiHost api = EtcdApiHosts.Create(server, config.Api, loggerFactory);
        await using (api)
        {
            try
            {
                await api.StartAsync(shutdown.Token);
            }
            catch (IOException e)
            {
                log.LogCritical(e, "failed to serve client requests");
                return 1;
            }

            // etcd 3.4 words these lines differently per logger; tools wait for one or the other.
            bool zap = flags.Logger.Value == "zap";
            log.LogInformation("ready to serve client requests");
            foreach (Uri url in api.ClientUrls)
            {
                string address = EtcdConfig.HostPort(url);
                bool secure = url.Scheme == "https";
                if (zap)
                {
                    // zap puts the address in a field of its own.
                    using (log.BeginScope(new Dictionary<string, object> { ["address"] = address }))
                    {
                        if (secure)
                        {
                            log.LogInformation("serving client traffic securely");
                        }
                        else
                        {
                            log.LogInformation("serving client traffic insecurely; this is strongly discouraged!");
                        }
                    }
                }
                else if (secure)
                {
                    log.LogInformation("serving client requests on {Address}", address);
                }
                else
                {
                    log.LogInformation("serving insecure client requests on {Address}, this is strongly discouraged!", address);
                }
            }

            foreach (Uri url in api.MetricsUrls)
            {
                log.LogInformation("serving metrics on {Address}", url.ToString());
            }

            log.LogInformation("published local member to cluster through raft {LocalMemberId} {ClusterId}", server.MemberId.ToString("x", System.Globalization.CultureInfo.InvariantCulture), server.ClusterId.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
            Task signalled = Task.Delay(Timeout.Infinite, shutdown.Token);
            Task first = await Task.WhenAny(signalled, server.Terminated);
            if (first == signalled)
            {
                log.LogInformation("received signal; shutting down");
            }

            string? terminated = null;
            if (first != signalled)
            {
                terminated = await server.Terminated;
                log.LogWarning("etcdserver: {Reason}; shutting down", terminated);
            }

            using var drain = new CancellationTokenSource(config.Api.ShutdownTimeout);
            await api.StopAsync(drain.Token);

            // A removed member exits normally, as etcd; a member whose raft loop failed does not.
            if (terminated is not null && terminated.StartsWith("raft loop failed", StringComparison.Ordinal))
            {
                return 1;
            }
        }
    }

    return null;
}

// etcdmain: "error verifying flags, <why>. See 'etcd --help'." and exit status 1.
int VerifyFailed(string why)
{
    Console.Error.WriteLine($"etcdmain: error verifying flags, {why}. See 'etcd --help'.");
    return 1;
}

/// <summary>The versions this etcd reports (etcd 3.4's, so clients pick 3.4 behaviour).</summary>
internal static class EtcdVersion
{
    public const string Server = "3.4.23";
}
