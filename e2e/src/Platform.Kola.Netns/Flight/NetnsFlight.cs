using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Platform.Kola.Netns.Machines;
using Platform.Kola.Platforms;
using Platform.Linux.Namespaces;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Linux.Processes;

namespace Platform.Kola.Netns.Flight;

internal sealed class NetnsFlightFactory : IFlightFactory
{
    private readonly NetnsOptions _options;

    public NetnsFlightFactory(NetnsOptions options)
    {
        _options = options;
    }

    public string Platform => NetnsPlatform.Name;

    public string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "machines are namespaces and need root";
        }

        foreach (string binary in (string[])["kola", "etcd", "coreos-cloudinit"])
        {
            if (!File.Exists(Path.Join(_options.BinDirectory, binary)))
            {
                return $"{Path.Join(_options.BinDirectory, binary)} is missing (run ./platform build)";
            }
        }

        if (!File.Exists("/usr/bin/nsenter"))
        {
            return "nsenter (util-linux) is missing";
        }

        return FlightLayout.CheckStateRoot(_options.StateRoot);
    }

    public async ValueTask<IFlight> CreateAsync(CancellationToken cancellationToken)
    {
        string? unavailable = Unavailable();
        if (unavailable is not null)
        {
            throw new InvalidOperationException(unavailable);
        }

        FlightCleanup.RemoveStale(_options.StateRoot, _options.Progress);
        string name = _options.FlightName ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var flight = new NetnsFlight(_options, new FlightLayout(_options.StateRoot, name));
        try
        {
            await flight.StartAsync(cancellationToken).ConfigureAwait(false);
            return flight;
        }
        catch
        {
            await flight.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>
/// A netns flight: the switch namespace <c>kola-NAME</c> with bridge <c>kola0</c> (10.200.0.1/16,
/// the machines' gateway), the discovery etcd (ours, v2 enabled, <c>http://10.200.0.1:2379</c>) and the
/// image server (<c>http://10.200.0.1:8080/</c>) in it, the machine image, and the machines.
/// </summary>
internal sealed class NetnsFlight : IFlight
{
    public const int DiscoveryPort = 2379;
    public const int ImagePort = 8080;

    private readonly List<NetnsCluster> _clusters = [];
    private int _machines;
    private int _discoveryPid;
    private Task<ExitStatus>? _discoveryExited;
    private FileServer? _files;
    private NetworkNamespace? _namespace;
    private HttpClient? _http;

    public NetnsFlight(NetnsOptions options, FlightLayout layout)
    {
        Options = options;
        Layout = layout;
    }

    public string Platform => NetnsPlatform.Name;

    public NetnsOptions Options { get; }

    public FlightLayout Layout { get; }

    /// <summary>Talks HTTP from inside the flight's namespace (discovery, machines' services).</summary>
    public HttpClient Http => _http ?? throw new InvalidOperationException("the flight is not started");

    public static Uri DiscoveryEndpoint => new($"http://{FlightLayout.ServicesAddress}:{DiscoveryPort}");

    public static Uri ImageServer => new($"http://{FlightLayout.ServicesAddress}:{ImagePort}/");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        NetnsPlatform.Destroy(Layout.Name, Options.StateRoot);
        FlightCleanup.Write(Layout, Options.Keep);
        MachineImage.Write(Layout.ImageDirectory);
        Directory.CreateDirectory(Layout.ServedDirectory);
        ImageBuilder.TryBuildBusybox(Path.Join(Layout.ServedDirectory, "busybox.aci"), Path.Join(Layout.Root, "busybox-build"));

        _namespace = NetworkNamespace.Create(Layout.NamespacePath);
        using (IRtNetlink links = RtNetlink.Open(_namespace))
        {
            links.SetLinkUp(links.GetLink("lo")!.Index, true);
            Link bridge = links.AddBridge(FlightLayout.BridgeName);
            links.AddAddress(new InterfaceAddress(bridge.Index, FlightLayout.ServicesAddress, FlightLayout.PrefixLength));
            links.SetLinkUp(bridge.Index, true);
        }

        _http = NamespaceSockets.CreateHttpClient(_namespace, TimeSpan.FromSeconds(10));
        _files = new FileServer(NamespaceSockets.Listen(_namespace, new IPEndPoint(FlightLayout.ServicesAddress, ImagePort)), Layout.ServedDirectory);
        StartDiscovery();
        await WaitDiscoveryAsync(cancellationToken).ConfigureAwait(false);
        Options.Progress?.WriteLine($"kola: flight {Layout.Name} ready in {clock.Elapsed.TotalSeconds:F2}s (switch, discovery etcd {DiscoveryEndpoint}, images {ImageServer})");
    }

    public ValueTask<ICluster> NewClusterAsync(ClusterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cluster = new NetnsCluster(this, options);
        lock (_clusters)
        {
            _clusters.Add(cluster);
        }

        return ValueTask.FromResult<ICluster>(cluster);
    }

    /// <summary>The next machine number of this flight (addresses and ids are flight-wide).</summary>
    public int NextMachineNumber() => Interlocked.Increment(ref _machines);

    /// <summary>A new discovery URL for a cluster of <paramref name="size"/>, as discovery.etcd.io hands them out.</summary>
    public async ValueTask<Uri> NewDiscoveryUrlAsync(int size, CancellationToken cancellationToken)
    {
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var url = new Uri(DiscoveryEndpoint, $"/v2/keys/_etcd/registry/{token}");
        using var body = new FormUrlEncodedContent([new KeyValuePair<string, string>("value", size.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        using HttpResponseMessage response = await Http.PutAsync(new Uri(url + "/_config/size"), body, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"discovery: setting the size of {url} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
        }

        return url;
    }

    public async ValueTask DisposeAsync()
    {
        NetnsCluster[] clusters;
        lock (_clusters)
        {
            clusters = [.. _clusters];
        }

        if (!Options.Keep)
        {
            foreach (NetnsCluster cluster in clusters)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (_files is not null)
        {
            await _files.DisposeAsync().ConfigureAwait(false);
        }

        _http?.Dispose();
        _namespace?.Dispose();
        if (!Options.Keep)
        {
            if (_discoveryPid != 0)
            {
                ProcessSpawner.Signal(_discoveryPid, 9);
                await (_discoveryExited ?? Task.FromResult(default(ExitStatus))).WaitAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            }

            NetnsPlatform.Destroy(Layout.Name, Options.StateRoot);
        }
    }

    private void StartDiscovery()
    {
        Directory.CreateDirectory(Layout.DiscoveryDirectory);
        string url = DiscoveryEndpoint.ToString().TrimEnd('/');
        using var log = new FileStream(Path.Join(Layout.Root, "discovery.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        using var stdin = new FileStream("/dev/null", FileMode.Open, FileAccess.Read);
        var request = new SpawnRequest
        {
            Path = Path.Join(Options.BinDirectory, "etcd"),
            Arguments =
            [
                "etcd", "--name", "discovery", "--data-dir", Path.Join(Layout.DiscoveryDirectory, "data"), "--enable-v2",
                "--listen-client-urls", $"{url},http://127.0.0.1:{DiscoveryPort}", "--advertise-client-urls", url,
                "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", "discovery=http://127.0.0.1:2380",
            ],
            Environment = [.. NetnsMachine.MachineEnvironment().Select(kv => $"{kv.Key}={kv.Value}")],
            StdinFd = (int)stdin.SafeFileHandle.DangerousGetHandle(),
            StdoutFd = (int)log.SafeFileHandle.DangerousGetHandle(),
            StderrFd = (int)log.SafeFileHandle.DangerousGetHandle(),
            NewSession = true,
        };
        _discoveryPid = NamespaceLauncher.SpawnInNewNamespaces(request, NamespaceKinds.None, Layout.NamespacePath);
        int pid = _discoveryPid;
        var exited = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() => exited.SetResult(ProcessSpawner.Wait(pid))) { IsBackground = true, Name = "kola discovery etcd" }.Start();
        _discoveryExited = exited.Task;
    }

    private async Task WaitDiscoveryAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_discoveryExited is { IsCompleted: true })
            {
                throw new InvalidOperationException($"the discovery etcd exited ({_discoveryExited.Result}); see {Path.Join(Layout.Root, "discovery.log")}");
            }

            try
            {
                using HttpResponseMessage response = await Http.GetAsync(new Uri(DiscoveryEndpoint, "/health"), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<HealthAnswer>(cancellationToken).ConfigureAwait(false))?.Health == "true")
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the discovery etcd did not become healthy within 60 s");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed record HealthAnswer([property: System.Text.Json.Serialization.JsonPropertyName("health")] string? Health);
}
