using System.Globalization;
using Platform.Linux.Cgroups;
using Platform.Linux.Netns;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Networking;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>
/// Runs a prepared pod: moves it to <c>run/</c> under its exclusive lock, creates its network namespace
/// (<c>$pod/netns</c>) and attaches CNI networks, creates its cgroups, holds leases on its trees, and hands
/// it to the stage1 flavor recorded at prepare time. Returns the pod's exit code.
/// </summary>
public sealed class PodRunner
{
    private readonly ITreeStore _trees;
    private readonly IPodNetworking? _networking;

    public PodRunner(ITreeStore trees, IPodNetworking? networking)
    {
        _trees = trees;
        _networking = networking;
    }

    /// <summary>argv prefix starting this rkt's hidden stage1 entry point.</summary>
    public required IReadOnlyList<string> Stage1Command { get; init; }

    /// <summary>
    /// Registers the pod with the metadata service (<c>--mds-register</c>) once its network is up; returns
    /// the <c>AC_METADATA_URL</c> for its apps. Unset: registration is unavailable and such pods fail.
    /// </summary>
    public Func<MetadataRegistration, CancellationToken, Task<string>>? RegisterMetadata { get; init; }

    /// <summary>Unregisters a pod registered by <see cref="RegisterMetadata"/> after it exited.</summary>
    public Func<string, CancellationToken, Task>? UnregisterMetadata { get; init; }

    /// <summary>Called with the pod's UUID once it is in <c>run/</c> (for <c>--uuid-file-save</c>).</summary>
    public Action<string>? OnRunning { get; init; }

    /// <summary>
    /// Runs the pod in <c>$from/$uuid</c> whose exclusive lock <paramref name="podLock"/> the caller holds.
    /// The lock is consumed (held by the pod's processes while it runs, released at the end).
    /// </summary>
    public async Task<int> RunAsync(PodStore store, string uuid, string from, FileLock podLock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(podLock);
        using (podLock)
        {
            string pod = store.Move(uuid, from, "run");
            OnRunning?.Invoke(uuid);
            // Synchronous reads of small files: an async one would start the thread pool for nothing.
            Stage1Plan plan = Stage1Plan.Parse(File.ReadAllBytes(PodLayout.Stage1Plan(pod)));
            IStage1Flavor flavor = Stage1Flavors.Get(PodLayout.ReadStage1Flavor(pod) ?? throw new PodException($"pod {uuid} has no stage1 flavor recorded"));

            // Leases keep `image gc` from removing the trees while the pod runs; a tree removed after
            // prepare is rendered again here.
            var leases = new List<ITreeLease>();
            try
            {
                foreach (Stage1App app in plan.Apps)
                {
                    string imageId = PodManifest.Parse(File.ReadAllBytes(PodLayout.Manifest(pod))).Apps.First(a => a.Name == app.Name).Image.Id;
                    ITreeLease lease = _trees.Render(imageId);
                    leases.Add(lease);
                    app.TreeRootfs = lease.RootfsPath;
                }

                PodNetworkStatus? network = await SetupNetworkAsync(pod, uuid, plan, cancellationToken).ConfigureAwait(false);
                bool registered = await RegisterAsync(pod, uuid, plan, network, cancellationToken).ConfigureAwait(false);
                File.WriteAllBytes(PodLayout.Stage1Plan(pod), plan.ToJson());
                CgroupSet? cgroup = CreateCgroups(pod, uuid, flavor, plan);
                try
                {
                    return RunFlavor(flavor, pod, plan, podLock, cgroup);
                }
                finally
                {
                    if (registered && UnregisterMetadata is not null)
                    {
                        await UnregisterMetadata(uuid, CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                foreach (ITreeLease lease in leases)
                {
                    lease.Dispose();
                }
            }
        }
    }

    private int RunFlavor(IStage1Flavor flavor, string pod, Stage1Plan plan, FileLock podLock, CgroupSet? cgroup) =>
        flavor.Run(new Stage1RunRequest
        {
            PodDirectory = pod,
            Plan = plan,
            LockFd = (int)podLock.Handle.DangerousGetHandle(),
            Stage1Command = Stage1Command,
            PodCgroup = cgroup,
            Started = pid => File.WriteAllText(PodLayout.Pid(pod), pid.ToString(CultureInfo.InvariantCulture)),
        });

    private async Task<bool> RegisterAsync(string pod, string uuid, Stage1Plan plan, PodNetworkStatus? network, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Join(pod, "mds-register")))
        {
            return false;
        }

        if (RegisterMetadata is null)
        {
            throw new PodException("--mds-register: the metadata service client is not available");
        }

        NetworkAttachment? first = network is { Attachments.Count: > 0 } ? network.Attachments[0] : null;
        string url = await RegisterMetadata(
            new MetadataRegistration(uuid, pod, first?.IPv4Cidr.Split('/')[0], first?.Gateway),
            cancellationToken).ConfigureAwait(false);
        foreach (Stage1App app in plan.Apps)
        {
            app.Environment.RemoveAll(e => e.StartsWith("AC_METADATA_URL=", StringComparison.Ordinal));
            app.Environment.Add("AC_METADATA_URL=" + url);
        }

        return true;
    }

    private async Task<PodNetworkStatus?> SetupNetworkAsync(string pod, string uuid, Stage1Plan plan, CancellationToken cancellationToken)
    {
        if (plan.Network != "netns")
        {
            return null;
        }

        string net = File.ReadAllText(Path.Join(pod, "net")).Trim();
        IReadOnlyList<NetworkSelection> selections;
        try
        {
            selections = NetFlag.Parse(net);
        }
        catch (FormatException e)
        {
            throw new PodException(e.Message, e);
        }

        NetworkNamespace.Create(PodLayout.Netns(pod)).Dispose();
        if (_networking is null)
        {
            throw new PodException($"--net={net}: pod networking is not available");
        }

        PodManifest manifest = PodManifest.Parse(File.ReadAllBytes(PodLayout.Manifest(pod)));
        var ports = ResolvePorts(File.ReadAllLines(Path.Join(pod, "ports")).Where(l => l.Length > 0).ToList(), manifest);
        PodNetworkStatus status;
        try
        {
            status = await _networking.SetupAsync(new PodNetworkRequest(uuid, pod, PodLayout.Netns(pod), selections, ports), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NetworkConfigException or CniPluginException)
        {
            throw new PodException($"networking: {e.Message}", e);
        }

        if (plan.ResolvConf is null && status.Nameservers.Count > 0)
        {
            plan.ResolvConf = string.Concat(status.Nameservers.Select(n => $"nameserver {n}\n"))
                + (status.Search.Count > 0 ? $"search {string.Join(' ', status.Search)}\n" : string.Empty);
        }

        if (plan.Hosts is not null && status.Attachments.Count > 0)
        {
            string ip = status.Attachments[0].IPv4Cidr.Split('/')[0];
            plan.Hosts += $"{ip} {plan.Hostname}\n";
        }

        File.WriteAllText(Path.Join(pod, "networks"), string.Join('\n', status.Attachments.Select(a => $"{a.NetName} {a.IfName} {a.IPv4Cidr}")));
        return status;
    }

    /// <summary>Resolves <c>--port NAME:[IP:]HOSTPORT</c> against the apps' declared ports.</summary>
    internal static List<(string Name, string Protocol, int ContainerPort, int HostPort, string? HostIp)> ResolvePorts(IReadOnlyList<string> flags, PodManifest manifest)
    {
        var result = new List<(string, string, int, int, string?)>();
        foreach (string flag in flags)
        {
            string[] parts = flag.Split(':');
            if (parts.Length is < 2 or > 3 || !int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int hostPort) || hostPort is < 1 or > 65535)
            {
                throw new PodException($"invalid --port \"{flag}\": want NAME:[IP:]HOSTPORT");
            }

            string name = parts[0];
            string? hostIp = parts.Length == 3 ? parts[1] : null;
            Platform.Rkt.Images.Appc.Port? port = manifest.Apps.SelectMany(a => a.App?.Ports ?? []).FirstOrDefault(p => p.Name == name)
                ?? throw new PodException($"--port: no app declares a port named \"{name}\"");
            result.Add((name, port.Protocol, port.Number, hostPort, hostIp));
        }

        return result;
    }

    private static CgroupSet? CreateCgroups(string pod, string uuid, IStage1Flavor flavor, Stage1Plan plan)
    {
        bool fly = flavor.Name == Stage1Flavors.FlyName;
        if (fly && plan.Apps.All(a => a.MemoryBytes is null && a.CpuMillicores is null))
        {
            // fly isolates nothing: its cgroup exists only to carry the app's limits.
            // Without limits, none: moving the process into one would cost an RCU grace period in the
            // kernel (see PodInit) for nothing.
            return null;
        }

        CgroupLayout layout = CgroupLayout.Detect();
        if (layout.Hierarchies.Count == 0)
        {
            return null;
        }

        IReadOnlyDictionary<CgroupHierarchy, string> parents = layout.Locate(File.ReadAllText("/proc/self/cgroup"));
        CgroupSet set = CgroupSet.Create(parents, "rkt-" + uuid);
        set.Save(PodLayout.Cgroups(pod));
        if (fly && plan.Apps.Count == 1)
        {
            set.Apply(new CgroupLimits { MemoryBytes = plan.Apps[0].MemoryBytes, CpuMillicores = plan.Apps[0].CpuMillicores });
        }

        return set;
    }
}

/// <summary>What the metadata service needs to know about a pod: UUID, directory (pod manifest, <c>appsinfo/$app/manifest</c>), address and gateway.</summary>
public sealed record MetadataRegistration(string Uuid, string PodDirectory, string? PodIp, string? Gateway);
