using Platform.Etcd.Grpc;
using Platform.Etcd.Server;
using Platform.Testing;

namespace Platform.Etcd.IntegrationTests.Infrastructure;

/// <summary>A running single-member etcd that clients can reach.</summary>
public interface IEtcdMember : IAsyncDisposable
{
    /// <summary>e.g. <c>http://127.0.0.1:23456</c>: gRPC (h2c) and HTTP/1.1 on the same port.</summary>
    public Uri ClientUrl { get; }

    /// <summary>What it is, for messages ("ours (in-process)", "real etcd 3.4").</summary>
    public string Description { get; }
}

/// <summary>Our server and API layer in this process, on a claimed free port, in a fresh directory.</summary>
public sealed class InProcessEtcd : IEtcdMember
{
    private readonly TestDirectory _directory;
    private readonly IEtcdServer _server;
    private readonly IEtcdApiHost _api;

    private InProcessEtcd(TestDirectory directory, IEtcdServer server, IEtcdApiHost api)
    {
        _directory = directory;
        _server = server;
        _api = api;
        ClientUrl = api.ClientUrls[0];
    }

    public Uri ClientUrl { get; }

    public string Description => "ours (in-process)";

    public IEtcdServer Server => _server;

    public static async Task<InProcessEtcd> StartAsync(string name, bool enableV2 = true, long maxRequestBytes = EtcdApiOptions.DefaultMaxRequestBytes)
    {
        int[] ports = FreePorts.Next(2);
        string client = $"http://127.0.0.1:{ports[0]}";
        string peer = $"http://127.0.0.1:{ports[1]}";
        TestDirectory directory = TestDirectory.Create(name);
        IEtcdServer? server = null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            server = await EtcdServers.StartAsync(
                new EtcdServerOptions
                {
                    Name = "default",
                    DataDir = directory.Combine("data"),
                    ClientUrls = [client],
                    PeerUrls = [peer],
                    InitialCluster = $"default={peer}",
                    EnableV2 = enableV2,
                    MaxRequestBytes = (int)maxRequestBytes,
                },
                timeout.Token);
            IEtcdApiHost api = EtcdApiHosts.Create(server, new EtcdApiOptions
            {
                ListenClientUrls = [new Uri(client)],
                EnableV2 = enableV2,
                MaxRequestBytes = maxRequestBytes,
                LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            });
            await api.StartAsync(timeout.Token);
            return new InProcessEtcd(directory, server, api);
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            directory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _api.DisposeAsync();
            await _server.DisposeAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }
}

/// <summary>
/// An etcd executable (ours, or the real etcd 3.4) as a child process on claimed free ports in a
/// fresh directory: <see cref="EtcdMember"/> (Platform.Testing) with the description and the
/// output these tests read; killed by PID on dispose.
/// </summary>
public sealed class EtcdProcess : IEtcdMember
{
    private readonly EtcdMember _member;

    private EtcdProcess(EtcdMember member, string description)
    {
        _member = member;
        ClientUrl = new Uri(member.ClientUrl);
        Description = description;
    }

    public Uri ClientUrl { get; }

    public string Description { get; }

    public string DataDir => _member.DataDir;

    /// <summary>Everything the process wrote so far.</summary>
    public string Output => _member.Log;

    /// <param name="name">A readable prefix of the member's directory.</param>
    /// <param name="extraArgs">Flags added to the defaults (later flags win).</param>
    /// <param name="environment">Environment variables for the process.</param>
    /// <param name="prepare">Runs before the process starts with the data dir (not created yet) and the peer URL, e.g. to restore a snapshot there.</param>
    public static Task<EtcdProcess> StartOursAsync(string name, IEnumerable<string>? extraArgs = null, IDictionary<string, string>? environment = null, Func<string, string, Task>? prepare = null) =>
        StartAsync(Binaries.OurEtcd, "ours (executable)", name, extraArgs, environment, prepare);

    public static Task<EtcdProcess> StartRealAsync(string name, IEnumerable<string>? extraArgs = null, Func<string, string, Task>? prepare = null) =>
        StartAsync(Binaries.RealEtcd, "real etcd 3.4", name, extraArgs, null, prepare);

    private static async Task<EtcdProcess> StartAsync(string binary, string description, string name, IEnumerable<string>? extraArgs, IDictionary<string, string>? environment, Func<string, string, Task>? prepare)
    {
        Assert.True(File.Exists(binary), $"{binary} is missing (build etcd/src/etcd, or install etcd-server)");
        var member = new EtcdMember(binary, name, [.. extraArgs ?? []])
        {
            Environment = environment is null ? null : new Dictionary<string, string>(environment),
            Prepare = prepare,
        };
        try
        {
            await member.StartAsync();
            return new EtcdProcess(member, description);
        }
        catch
        {
            await member.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _member.DisposeAsync();
}

/// <summary>etcdctl 3.4 against one member.</summary>
internal sealed class Etcdctl
{
    private readonly Uri _endpoint;

    public Etcdctl(Uri endpoint)
    {
        _endpoint = endpoint;
    }

    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(60);

    public Task<CommandResult> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    public Task<CommandResult> RunWithInputAsync(string? stdin, params string[] args) =>
        Command.RunAsync(
            Binaries.Etcdctl,
            ["--endpoints", _endpoint.ToString().TrimEnd('/'), "--command-timeout", "30s", .. args],
            Timeout,
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" },
            stdin);

    public async Task<string> OkAsync(params string[] args) =>
        (await RunAsync(args)).EnsureSuccess("etcdctl " + string.Join(' ', args)).Stdout;

    /// <summary>A long-running etcdctl (watch, lease keep-alive) whose output lines can be awaited.</summary>
    public ChildProcess Start(params string[] args) =>
        ChildProcess.Start(
            Binaries.Etcdctl,
            ["--endpoints", _endpoint.ToString().TrimEnd('/'), .. args],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
}
