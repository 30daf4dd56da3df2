using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Etcd.Client;
using Platform.Testing;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>One etcd process of a cluster: its ports, directory and current process.</summary>
internal sealed class ClusterMember
{
    private const int LogLines = 400;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentQueue<string> _notable = new();
    private ChildProcess? _process;
    private int _snapshotLines;

    public ClusterMember(int index, string dataDirectory)
    {
        Index = index;
        Name = $"m{index}";
        DataDirectory = dataDirectory;
        int[] ports = FreePorts.Next(3);
        ClientPort = ports[0];
        PeerPort = ports[1];
        ProxyPort = ports[2];
    }

    public int Index { get; }

    public string Name { get; }

    public string DataDirectory { get; }

    public int ClientPort { get; }

    /// <summary>Where the member listens for peers.</summary>
    public int PeerPort { get; }

    /// <summary>Where peers reach it (its proxy); the URL it advertises.</summary>
    public int ProxyPort { get; }

    public string ClientUrl => $"http://127.0.0.1:{ClientPort}";

    public string AdvertisedPeerUrl => $"http://127.0.0.1:{ProxyPort}";

    public int? Pid => _process is { HasExited: false } p ? p.Pid : null;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Set once the member has been removed from the cluster.</summary>
    public bool Removed { get; set; }

    public ulong MemberId { get; set; }

    /// <summary>Log lines mentioning snapshots so far (every incarnation): shows whether snapshot paths ran.</summary>
    public int SnapshotLogLines => Volatile.Read(ref _snapshotLines);

    /// <summary>The last lines the process wrote (every incarnation).</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>
    /// The file a Failpoints build of ours reads its failpoint spec from once it appears
    /// (<c>PLATFORM_ETCD_FAILPOINTS_FILE</c>, set for every start when the cluster uses failpoints).
    /// </summary>
    public string FailpointFile => DataDirectory + ".failpoints";

    /// <summary>Whether to pass <see cref="FailpointFile"/> to the process.</summary>
    public bool UseFailpoints { get; set; }

    /// <summary>How many lines (every incarnation) mentioning failpoints or torn tails contain <paramref name="text"/>.</summary>
    public int LinesContaining(string text) => _notable.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Arms failpoints in the running process: writes the spec file atomically (temporary file, rename).</summary>
    public void ArmFailpoints(string spec)
    {
        string temporary = FailpointFile + ".tmp";
        File.WriteAllText(temporary, spec);
        File.Move(temporary, FailpointFile, overwrite: true);
    }

    /// <summary>Removes the spec, so the next start runs unfaulted.</summary>
    public void DisarmFailpoints() => File.Delete(FailpointFile);

    /// <summary>Waits for the process to exit by itself; its exit code, or null when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        ChildProcess? process = _process;
        if (process is null)
        {
            return null;
        }

        try
        {
            await process.Exited.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return null;
        }

        _process = null;
        int code = process.ExitCode;
        process.Dispose();
        return code;
    }

    public async Task StartAsync(string executable, IReadOnlyList<string> arguments, TimeSpan readyTimeout)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        _process?.Dispose();
        Dictionary<string, string> environment = UseFailpoints ? new() { ["PLATFORM_ETCD_FAILPOINTS_FILE"] = FailpointFile } : [];
        _process = ChildProcess.Start(executable, arguments, environment, keepLines: LogLines, onLine: OnLine);
        try
        {
            // Both etcd 3.4 and ours log this once the client listener serves requests.
            await _process.WaitForLineAsync(l => l.Contains("ready to serve client requests", StringComparison.Ordinal), readyTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{Name} ({executable}) did not get ready within {readyTimeout}:\n{Log}", e);
        }
    }

    /// <summary>SIGKILL (no shutdown path runs), then waits for the process to be gone.</summary>
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

    private void OnLine(string line)
    {
        _log.Enqueue(line);
        if (line.Contains("snapshot", StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref _snapshotLines);
        }

        if (line.Contains("failpoint", StringComparison.Ordinal) || line.Contains("torn tail", StringComparison.Ordinal))
        {
            _notable.Enqueue(line);
        }

        while (_log.Count > LogLines)
        {
            _log.TryDequeue(out string? _);
        }
    }
}

/// <summary>
/// A cluster of etcd processes (any binary that takes etcd's flags) on loopback: every member's
/// peer traffic crosses <see cref="Network"/>'s proxies; data under one <see cref="TestDirectory"/>.
/// Disposing kills every process by its PID and deletes the directory.
/// </summary>
internal sealed class EtcdCluster : IAsyncDisposable
{
    private readonly TestDirectory _directory;
    private readonly ClusterOptions _options;
    private readonly List<ClusterMember> _members = [];

    public EtcdCluster(ClusterOptions options)
    {
        _options = options;
        _directory = TestDirectory.Create($"robustness-{options.Token}");
        Network = new PeerNetwork(i => i < _members.Count ? _members[i].Pid : null, options.Seed);
    }

    public PeerNetwork Network { get; }

    /// <summary>Every member ever created, removed ones included (index = position).</summary>
    public IReadOnlyList<ClusterMember> Members => _members;

    /// <summary>Members not removed.</summary>
    public IEnumerable<ClusterMember> Current => _members.Where(m => !m.Removed);

    public string Executable => _options.Executable;

    public async Task StartAsync(int size)
    {
        for (int i = 0; i < size; i++)
        {
            AddMemberSlot();
        }

        string initialCluster = string.Join(',', _members.Select(m => $"{m.Name}={m.AdvertisedPeerUrl}"));
        await Task.WhenAll(_members.Select(m => m.StartAsync(_options.Executable, Arguments(m, initialCluster, "new"), _options.ReadyTimeout)));
        await IdentifyAsync();
    }

    /// <summary>Creates the next member's ports, directory and proxy (not started).</summary>
    public ClusterMember AddMemberSlot()
    {
        var member = new ClusterMember(_members.Count, _directory.Combine($"m{_members.Count}")) { UseFailpoints = _options.Failpoints };
        _members.Add(member);
        Network.AddProxy(member.Index, member.ProxyPort, member.PeerPort);
        return member;
    }

    /// <summary>Starts a member that was added with the Cluster API, joining the current members.</summary>
    public Task JoinAsync(ClusterMember member)
    {
        string initialCluster = string.Join(',', Current.Select(m => $"{m.Name}={m.AdvertisedPeerUrl}"));
        return member.StartAsync(_options.Executable, Arguments(member, initialCluster, "existing"), _options.ReadyTimeout);
    }

    /// <summary>Restarts a killed member on its data directory.</summary>
    public Task RestartAsync(ClusterMember member)
    {
        string initialCluster = string.Join(',', _members.Where(m => !m.Removed || m == member).Select(m => $"{m.Name}={m.AdvertisedPeerUrl}"));
        return member.StartAsync(_options.Executable, Arguments(member, initialCluster, "new"), _options.ReadyTimeout);
    }

    /// <summary>A client on one member only (no failover), with short timeouts for the harness's own calls.</summary>
    public static IEtcdClient ClientFor(ClusterMember member, TimeSpan? requestTimeout = null) => EtcdClient.Create(new EtcdClientOptions
    {
        Endpoints = [member.ClientUrl],
        DialTimeout = TimeSpan.FromSeconds(1),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(2),
        UnhealthyEndpointBackoff = TimeSpan.FromMilliseconds(100),
    });

    /// <summary>The running member that leads, as the running members (but <paramref name="exclude"/>) see it; null when none answers with a leader.</summary>
    public async Task<ClusterMember?> LeaderAsync(ClusterMember? exclude = null)
    {
        foreach (ClusterMember member in Current.Where(m => m.IsRunning && m != exclude))
        {
            try
            {
                await using IEtcdClient client = ClientFor(member);
                StatusResult status = await client.Maintenance.StatusAsync(member.ClientUrl);
                member.MemberId = status.Header.MemberId;
                ClusterMember? leader = _members.FirstOrDefault(m => m.MemberId == status.Leader && status.Leader != 0);
                if (leader is not null && leader.IsRunning)
                {
                    return leader;
                }
            }
            catch (EtcdClientException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }

        return null;
    }

    /// <summary>Polls until a leader is known (members' ids are learnt on the way).</summary>
    public async Task<ClusterMember> WaitForLeaderAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await IdentifyAsync();
            if (await LeaderAsync() is { } leader)
            {
                return leader;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"no leader within {timeout}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Learns each running member's id from its Status header.</summary>
    public async Task IdentifyAsync()
    {
        foreach (ClusterMember member in Current.Where(m => m.IsRunning && m.MemberId == 0))
        {
            try
            {
                await using IEtcdClient client = ClientFor(member);
                member.MemberId = (await client.Maintenance.StatusAsync(member.ClientUrl)).Header.MemberId;
            }
            catch (EtcdClientException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public string Logs() => string.Join("\n", _members.Select(m => $"----- {m.Name} (last lines) -----\n{m.Log}"));

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (ClusterMember member in _members)
            {
                await member.KillAsync();
            }

            await Network.DisposeAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private List<string> Arguments(ClusterMember member, string initialCluster, string state) =>
    [
        "--name", member.Name,
        "--data-dir", member.DataDirectory,
        "--listen-client-urls", member.ClientUrl,
        "--advertise-client-urls", member.ClientUrl,
        "--listen-peer-urls", $"http://127.0.0.1:{member.PeerPort}",
        "--initial-advertise-peer-urls", member.AdvertisedPeerUrl,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", state,
        "--initial-cluster-token", _options.Token,
        "--heartbeat-interval", _options.HeartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--election-timeout", _options.ElectionMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--snapshot-count", _options.SnapshotCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        .. _options.ExtraArguments,
    ];
}

internal sealed record ClusterOptions(string Executable, string Token, int Seed)
{
    public int HeartbeatMs { get; init; } = 50;

    public int ElectionMs { get; init; } = 500;

    /// <summary>Small, so a member that was down a while catches up by snapshot.</summary>
    public int SnapshotCount { get; init; } = 300;

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether members get a failpoint file (<see cref="ClusterMember.FailpointFile"/>): runs with a failpoint fault.</summary>
    public bool Failpoints { get; init; }

    /// <summary>More flags for every member (e.g. our etcd's <c>--experimental-snapshot-catchup-entries</c>).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}
