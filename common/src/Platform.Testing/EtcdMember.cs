using System.Collections.Concurrent;
using Xunit;

namespace Platform.Testing;

/// <summary>
/// A single-member etcd process for tests (the real etcd 3.4 from Debian's etcd-server, or ours):
/// started with etcd's flags on claimed free ports in its own directory, ready once it logs "ready
/// to serve client requests", killed by PID on stop and dispose (a <see cref="ChildProcess"/>). It can be stopped and started
/// again on the same data directory and ports.
/// </summary>
public sealed class EtcdMember : IAsyncDisposable
{
    /// <summary>Where Debian's etcd-server puts etcd 3.4 (listed in TEST_PACKAGES of ./platform).</summary>
    public const string RealEtcdPath = "/usr/bin/etcd";

    private readonly TestDirectory _directory;
    private readonly int _peerPort;
    private readonly IReadOnlyList<string> _extraArguments;
    private readonly ConcurrentQueue<string> _log = new();
    private ChildProcess? _process;

    /// <param name="executable">The etcd binary to run.</param>
    /// <param name="name">A readable prefix for the member's directory.</param>
    /// <param name="extraArguments">Flags added to the defaults (e.g. --enable-v2).</param>
    public EtcdMember(string executable, string name, params IReadOnlyList<string> extraArguments)
    {
        Executable = executable;
        _extraArguments = extraArguments;
        _directory = TestDirectory.Create(name);
        int[] ports = FreePorts.Next(2);
        ClientUrl = $"http://127.0.0.1:{ports[0]}";
        _peerPort = ports[1];
    }

    public string Executable { get; }

    public string ClientUrl { get; }

    /// <summary>The member's peer URL (what --initial-cluster names).</summary>
    public string PeerUrl => $"http://127.0.0.1:{_peerPort}";

    /// <summary>The --data-dir (created by the process, or by <see cref="Prepare"/>).</summary>
    public string DataDir => _directory.Combine("data");

    /// <summary>Environment variables for the process (e.g. ETCD_* flags).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>
    /// Runs before the first start with the data dir and the peer URL, e.g. to restore a snapshot
    /// into the data dir with <c>etcdctl snapshot restore</c>.
    /// </summary>
    public Func<string, string, Task>? Prepare { get; init; }

    /// <summary>Everything the process wrote so far, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts the process and waits (up to a minute) until it serves clients.</summary>
    public async Task StartAsync()
    {
        if (!File.Exists(Executable))
        {
            throw new FileNotFoundException($"{Executable} is missing (real etcd: the etcd-server package, in TEST_PACKAGES of ./platform)", Executable);
        }

        if (_process is not null)
        {
            throw new InvalidOperationException("the member is already running");
        }

        string peer = $"http://127.0.0.1:{_peerPort}";
        if (Prepare is not null && !Directory.Exists(DataDir))
        {
            await Prepare(DataDir, peer);
        }

        string[] arguments =
        [
            "--name", "default", "--data-dir", DataDir,
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"default={peer}",
            .. _extraArguments,
        ];
        _process = ChildProcess.Start(Executable, arguments, Environment, onLine: _log.Enqueue);
        try
        {
            // etcd logs this once the client listener serves requests.
            await _process.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await StopAsync();
            throw;
        }
    }

    /// <summary>Kills the process (by PID, with its children) and waits for it; the data stays.</summary>
    public async Task StopAsync()
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

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }
}

/// <summary>A fact that needs the real etcd 3.4; skipped with the reason when it is missing and cannot be installed.</summary>
public sealed class RealEtcdFactAttribute : FactAttribute
{
    public RealEtcdFactAttribute()
    {
        if (!File.Exists(EtcdMember.RealEtcdPath) && !Environment.IsPrivilegedProcess)
        {
            Skip = $"needs {EtcdMember.RealEtcdPath} (Debian package etcd-server; `./platform test` installs it when run as root)";
        }
    }
}
