using System.Collections.Concurrent;
using Platform.Testing;

namespace Platform.Etcd.Cluster.IntegrationTests.Infrastructure;

/// <summary>
/// One etcd process of a test cluster: its name, ports and data dir are fixed for its lifetime, so
/// it can be killed (SIGKILL, by PID) and started again on the same data. Ready once it logs "ready
/// to serve client requests" (ours and etcd 3.4 both do).
/// </summary>
internal sealed class ClusterMember(string executable, string name, int clientPort, int peerPort, string dataDir, string peerScheme = "http")
{
    private readonly ConcurrentQueue<string> _log = new();
    private ChildProcess? _process;

    public string Name { get; } = name;

    public string ClientUrl { get; } = $"http://127.0.0.1:{clientPort}";

    public string PeerUrl { get; } = $"{peerScheme}://127.0.0.1:{peerPort}";

    public string DataDir { get; } = dataDir;

    public string Executable { get; } = executable;

    public string Log => string.Join('\n', _log);

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Completes when the running process exited and its output was read to the end.</summary>
    public Task Exited => _process?.Exited ?? Task.CompletedTask;

    /// <summary>Starts the process (no bootstrap flags when <paramref name="initialCluster"/> is empty); with <paramref name="waitReady"/>, waits until it serves clients.</summary>
    public async Task StartAsync(string initialCluster, string state, string token, IReadOnlyList<string> extra, bool waitReady = true)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException($"{Name} is running");
        }

        string[] bootstrap = initialCluster.Length == 0
            ? []
            : ["--initial-cluster", initialCluster, "--initial-cluster-state", state, "--initial-cluster-token", token];
        string[] arguments =
        [
            "--name", Name, "--data-dir", DataDir,
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", PeerUrl, "--initial-advertise-peer-urls", PeerUrl,
            .. bootstrap, .. extra,
        ];
        _process = ChildProcess.Start(Executable, arguments, onLine: _log.Enqueue);
        if (waitReady)
        {
            await _process.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>SIGKILL (by PID) and wait; the data stays.</summary>
    public async Task KillAsync()
    {
        ChildProcess? process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            await process.KillAsync();
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Forgets a process that exited by itself (a removed member).</summary>
    public async Task ReapAsync()
    {
        await Exited.WaitAsync(TimeSpan.FromSeconds(30));
        await KillAsync();
    }
}
