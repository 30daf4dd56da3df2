using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Platform.Kola.Netns.Flight;
using Platform.Kola.Platforms;
using Platform.Linux.Cgroups;
using Platform.Linux.Namespaces;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Linux.Processes;

namespace Platform.Kola.Netns.Machines;

/// <summary>
/// One netns machine. Its disks are a directory on the host (<c>etc</c>, a copy of the host's /etc made
/// at first boot; <c>var/lib</c>, <c>var/log</c>, <c>home</c>; <c>run</c> and <c>tmp</c> emptied at
/// every boot); its network a namespace with <c>eth0</c> on the flight's bridge, recreated at every
/// boot as a NIC comes up fresh; its processes a PID namespace whose init is the supervisor
/// (<c>kola __machine</c>), so killing the supervisor is a power cut.
/// </summary>
internal sealed class NetnsMachine : IMachine
{
    /// <summary>PATH inside machines: the image's systemctl/journalctl first, then Platform's binaries.</summary>
    public const string MachinePath = "/opt/platform/image/bin:/opt/platform/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// PID 1 of a machine: a shell that starts the supervisor, forwards SIGTERM to it and ends with it.
    /// The supervisor (a .NET process) must not be PID 1 itself: .NET's runtime reaps every child of a
    /// PID 1 in its own SIGCHLD handling, stealing exit statuses from the unit manager; instead the
    /// supervisor is a child subreaper, so orphans still come to it.
    /// </summary>
    private const string InitScript = """
        "$@" &
        child=$!
        trap 'kill -TERM "$child" 2>/dev/null' TERM INT
        while kill -0 "$child" 2>/dev/null; do wait "$child"; done
        """;

    private static readonly string[] s_disks = ["etc", "run", "var/lib", "var/log", "tmp", "home", "opt/platform/bin", "opt/platform/image"];
    private readonly NetnsFlight _flight;
    private readonly Lock _lock = new();
    private int _supervisorPid;
    private Task<ExitStatus>? _exited;

    public NetnsMachine(NetnsFlight flight, int number, string? userData)
    {
        _flight = flight;
        Id = "m" + number.ToString(CultureInfo.InvariantCulture);
        PrivateIP = FlightLayout.MachineAddress(number);
        Directory = flight.Layout.MachineDirectory(Id);
        NamespacePath = flight.Layout.MachineNamespacePath(Id);
        UserData = userData?.Replace("$private_ipv4", PrivateIP.ToString(), StringComparison.Ordinal)
            .Replace("$public_ipv4", PrivateIP.ToString(), StringComparison.Ordinal);
    }

    public string Id { get; }

    public IPAddress PrivateIP { get; }

    public IPAddress PublicIP => PrivateIP;

    /// <summary>The machine's disks on the host.</summary>
    public string Directory { get; }

    public string NamespacePath { get; }

    public string? UserData { get; }

    /// <summary>The supervisor's pid (host view) while the machine runs, else 0.</summary>
    public int SupervisorPid
    {
        get
        {
            lock (_lock)
            {
                return _supervisorPid;
            }
        }
    }

    public string ConsoleOutput() => ReadShared(Path.Join(Directory, "console.txt"));

    public string JournalOutput() => ReadShared(Path.Join(Directory, "var", "log", "journal.txt"));

    /// <summary>Prepares the disks (first boot), the network, starts the supervisor and waits until it says the machine booted.</summary>
    public async Task BootAsync(CancellationToken cancellationToken)
    {
        PrepareDisks();
        PrepareNetwork();
        StartSupervisor();
        await WaitBootedAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<CommandResult> RunAsync(string command, CancellationToken cancellationToken)
    {
        int pid = SupervisorPid;
        if (pid == 0)
        {
            return new CommandResult(255, string.Empty, $"machine {Id} is not running");
        }

        return await HostCommands.RunAsync(
            "nsenter", ["--target", pid.ToString(CultureInfo.InvariantCulture), "--mount", "--uts", "--ipc", "--net", "--pid", "--", "/bin/sh", "-c", command],
            MachineEnvironment(), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask KillAsync(CancellationToken cancellationToken)
    {
        int pid;
        Task<ExitStatus>? exited;
        lock (_lock)
        {
            pid = _supervisorPid;
            exited = _exited;
        }

        if (pid == 0 || exited is null)
        {
            return;
        }

        // SIGKILL to a PID namespace's init kills every process in it, pods' nested namespaces included.
        ProcessSpawner.Signal(pid, 9);
        await exited.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _supervisorPid = 0;
            _exited = null;
        }
    }

    public async ValueTask RestartAsync(CancellationToken cancellationToken)
    {
        await KillAsync(cancellationToken).ConfigureAwait(false);
        await BootAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Power off for good: kill and delete the network namespace (the disks stay until the flight goes).</summary>
    public async Task DestroyAsync(CancellationToken cancellationToken)
    {
        await KillAsync(cancellationToken).ConfigureAwait(false);
        NetworkNamespace.Delete(NamespacePath);
        RemoveCgroups(CgroupsFile);
    }

    /// <summary>The environment of commands run on the machine.</summary>
    public static Dictionary<string, string> MachineEnvironment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = MachinePath,
            ["HOME"] = "/root",
            ["LANG"] = "C.UTF-8",
            ["TERM"] = "dumb",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            environment["DOTNET_ROOT"] = root;
        }

        return environment;
    }

    private void PrepareDisks()
    {
        bool first = !System.IO.Directory.Exists(Path.Join(Directory, "etc"));
        foreach (string volatileDir in (string[])["run", "tmp"])
        {
            string path = Path.Join(Directory, volatileDir);
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }

        foreach (string disk in s_disks)
        {
            System.IO.Directory.CreateDirectory(Path.Join(Directory, disk));
        }

        File.SetUnixFileMode(Path.Join(Directory, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
        if (first)
        {
            HostCommands.Run("cp", ["-a", "/etc/.", Path.Join(Directory, "etc")]);
            string etc = Path.Join(Directory, "etc");
            File.WriteAllText(Path.Join(etc, "hostname"), Id + "\n");
            File.WriteAllText(Path.Join(etc, "machine-id"), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "\n");
            File.WriteAllText(Path.Join(etc, "hosts"), $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{PrivateIP}\t{Id}\n");
            foreach (string systemd in (string[])["systemd/system", "systemd/network"])
            {
                // The host's own units are not this machine's: it starts empty, like a fresh image's /etc.
                string path = Path.Join(etc, systemd);
                if (System.IO.Directory.Exists(path))
                {
                    System.IO.Directory.Delete(path, recursive: true);
                }

                System.IO.Directory.CreateDirectory(path);
            }

            // rkt looks for CNI plugins in its net.d too; the image's flannel plugin is found there.
            string netd = Path.Join(etc, "rkt", "net.d");
            System.IO.Directory.CreateDirectory(netd);
            string plugin = Path.Join(netd, "flannel");
            if (!File.Exists(plugin))
            {
                File.CreateSymbolicLink(plugin, "/opt/platform/bin/cni/flannel");
            }
        }

        if (UserData is not null)
        {
            string dir = Path.Join(Directory, "var", "lib", "kola");
            System.IO.Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Join(dir, "user-data"), UserData);
        }
    }

    private void PrepareNetwork()
    {
        NetworkNamespace.Delete(NamespacePath);
        using NetworkNamespace machine = NetworkNamespace.Create(NamespacePath);
        using NetworkNamespace flight = NetworkNamespace.Open(_flight.Layout.NamespacePath);
        using (IRtNetlink switchLinks = RtNetlink.Open(flight))
        {
            string port = "v" + Id;
            if (switchLinks.GetLink(port) is { } stale)
            {
                switchLinks.DeleteLink(stale.Index);
            }

            Link hostEnd = switchLinks.AddVeth(port, "eth0", machine);
            Link bridge = switchLinks.GetLink(FlightLayout.BridgeName) ?? throw new InvalidOperationException($"flight bridge {FlightLayout.BridgeName} is missing");
            switchLinks.SetMaster(hostEnd.Index, bridge.Index);
            switchLinks.SetLinkUp(hostEnd.Index, true);
        }

        using IRtNetlink links = RtNetlink.Open(machine);
        Link lo = links.GetLink("lo")!;
        links.SetLinkUp(lo.Index, true);
        Link eth0 = links.GetLink("eth0") ?? throw new InvalidOperationException("eth0 did not arrive in the machine's namespace");
        links.AddAddress(new InterfaceAddress(eth0.Index, PrivateIP, FlightLayout.PrefixLength));
        links.SetLinkUp(eth0.Index, true);
        links.AddRoute(new Route { Destination = IPAddress.Any, PrefixLength = 0, Gateway = FlightLayout.ServicesAddress, OutputIndex = eth0.Index });
    }

    /// <summary>Where the machine's cgroups are recorded (<see cref="CgroupSet.Save"/>), for cleanup by anyone.</summary>
    public string CgroupsFile => Path.Join(Directory, "cgroups");

    /// <summary>
    /// A cgroup of the machine's own (<c>kola-FLIGHT-ID</c>, in every hierarchy, under the harness's), so
    /// that its processes and the cgroups rkt makes for its pods stay together and can be removed when
    /// the machine goes. Null on hosts without cgroups.
    /// </summary>
    private CgroupSet? CreateCgroups()
    {
        CgroupLayout layout = CgroupLayout.Detect();
        if (layout.Hierarchies.Count == 0)
        {
            return null;
        }

        RemoveCgroups(CgroupsFile);
        CgroupSet set = CgroupSet.Create(layout.Locate(File.ReadAllText("/proc/self/cgroup")), $"kola-{_flight.Layout.Name}-{Id}");
        set.Save(CgroupsFile);
        return set;
    }

    /// <summary>Removes a machine's cgroups (pods' included) once its processes are gone; waits up to 10 s for them to leave.</summary>
    public static void RemoveCgroups(string file)
    {
        if (!File.Exists(file))
        {
            return;
        }

        CgroupSet set = CgroupSet.Load(file);
        var clock = Stopwatch.StartNew();
        while (!set.TryRemove() && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(20);
        }

        File.Delete(file);
    }

    private void StartSupervisor()
    {
        CgroupSet? cgroups = CreateCgroups();
        string kola = Path.Join(_flight.Options.BinDirectory, "kola");
        using var console = new FileStream(Path.Join(Directory, "console.txt"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        using var stdin = new FileStream("/dev/null", FileMode.Open, FileAccess.Read);
        var request = new SpawnRequest
        {
            Path = "/bin/sh",
            Arguments = ["sh", "-c", InitScript, "kola-init", kola, NetnsPlatform.SupervisorVerb, Directory, Id, _flight.Options.BinDirectory, _flight.Layout.ImageDirectory],
            Environment = [.. MachineEnvironment().Select(kv => $"{kv.Key}={kv.Value}")],
            StdinFd = (int)stdin.SafeFileHandle.DangerousGetHandle(),
            StdoutFd = (int)console.SafeFileHandle.DangerousGetHandle(),
            StderrFd = (int)console.SafeFileHandle.DangerousGetHandle(),
            NewSession = true,
        };
        int pid = NamespaceLauncher.SpawnInNewNamespaces(request, NamespaceKinds.Mount | NamespaceKinds.Uts | NamespaceKinds.Ipc | NamespaceKinds.Pid, NamespacePath);

        // The init here; the supervisor moves itself in first thing (it may already be forked).
        cgroups?.AddProcess(pid);
        var exited = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = new Thread(() =>
        {
            try
            {
                exited.SetResult(ProcessSpawner.Wait(pid));
            }
            catch (Exception e)
            {
                exited.SetException(e);
            }
        })
        { IsBackground = true, Name = $"kola {Id} supervisor" };
        waiter.Start();
        lock (_lock)
        {
            _supervisorPid = pid;
            _exited = exited.Task;
        }
    }

    private async Task WaitBootedAsync(CancellationToken cancellationToken)
    {
        string booted = Path.Join(Directory, "run", "kola", "booted");
        Task<ExitStatus>? exited;
        lock (_lock)
        {
            exited = _exited;
        }

        var clock = Stopwatch.StartNew();
        while (!File.Exists(booted))
        {
            if (exited is { IsCompleted: true })
            {
                throw new InvalidOperationException($"machine {Id}: the supervisor ended ({exited.Result}) before the machine booted; console:\n{Tail(ConsoleOutput())}");
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException($"machine {Id} did not boot within 120 s; console:\n{Tail(ConsoleOutput())}");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    private static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return string.Empty;
        }
    }
}
