using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Platform.Kola.Netns.Flight;
using Platform.Kola.Units;
using Platform.Linux.Cgroups;
using Platform.Linux.Namespaces;
using Platform.Linux.Processes;

namespace Platform.Kola.Netns.Machines;

/// <summary>
/// A netns machine's supervisor (<c>kola __machine DIR HOSTNAME BIN IMAGE</c>), started by the platform
/// in fresh mount, UTS, IPC and PID namespaces inside the machine's network namespace, as the only child
/// of the machine's PID 1 (a shell, see NetnsMachine) and a child subreaper, so it reaps every orphan. It gives the machine
/// its own filesystem view (the disks in DIR bind-mounted on /etc, /run, /var/lib, /var/log, /tmp and
/// /home; Platform's binaries and the image under /opt/platform; a new /proc), its hostname, then boots
/// like a CoreOS machine: <c>user-cloudinit.service</c> applies the cloud-config (whose <c>systemctl</c>
/// calls reach the unit manager through <c>/run/kola/control.sock</c>), then what is enabled starts.
/// <c>/run/kola/booted</c> tells the platform it is up. SIGTERM stops every unit and ends the machine.
/// </summary>
internal static class MachineSupervisor
{
    public const string ControlSocket = "/run/kola/control.sock";
    public const string BootedMarker = "/run/kola/booted";

    /// <summary>The second stage's marker argument: <c>kola __machine --in-machine HOSTNAME</c>.</summary>
    private const string InMachine = "--in-machine";

    public static int Run(IReadOnlyList<string> arguments)
    {
        try
        {
            if (arguments is [InMachine, string host])
            {
                return RunAsync(host).GetAwaiter().GetResult();
            }

            if (arguments.Count != 4)
            {
                Console.Error.WriteLine($"usage: kola {NetnsPlatform.SupervisorVerb} MACHINE-DIR HOSTNAME BIN-DIR IMAGE-DIR");
                return 2;
            }

            return Prepare(arguments[0], arguments[1], arguments[2], arguments[3]);
        }
        catch (Exception e)
        {
            Console.WriteLine($"kola: machine supervisor failed: {e}");
            return 1;
        }
    }

    /// <summary>
    /// The first stage: joins the machine's cgroup, builds its filesystem view and hostname, then
    /// replaces itself (execve) with the machine's own copy of kola at /opt/platform/bin. Once the
    /// private directories are mounted, the host path this process was started from may be hidden
    /// (a checkout under /tmp or /home), and the runtime loads assemblies lazily: nothing may run
    /// from it any more.
    /// </summary>
    private static int Prepare(string machineDirectory, string hostname, string binDirectory, string imageDirectory)
    {
        Console.WriteLine($"kola: booting {hostname}");
        if (File.Exists(Path.Join(machineDirectory, "cgroups")))
        {
            // The machine's cgroup (made by the platform): services and pods are created inside it.
            CgroupSet.Load(Path.Join(machineDirectory, "cgroups")).AddProcess(Environment.ProcessId);
        }

        var request = new SpawnRequest
        {
            Path = "/opt/platform/bin/kola",
            Arguments = ["kola", NetnsPlatform.SupervisorVerb, InMachine, hostname],
            Environment = [.. NetnsMachine.MachineEnvironment().Select(kv => $"{kv.Key}={kv.Value}")],
        };
        SetUpFilesystem(machineDirectory, binDirectory, imageDirectory);
        Mounts.SetHostname(hostname);
        NamespaceLauncher.ExecFromPreparedThread(static () => { }, request);
        return 1;
    }

    public static int RunControl(IReadOnlyList<string> arguments)
    {
        if (arguments.Count == 0)
        {
            Console.Error.WriteLine($"usage: kola {NetnsPlatform.ControlVerb} systemctl|journalctl ARGS...");
            return 2;
        }

        if (arguments[0] == "hostnamectl")
        {
            return Hostnamectl([.. arguments.Skip(1)]);
        }

        try
        {
            ControlResult result = UnitControl.CallAsync(ControlSocket, arguments[0], [.. arguments.Skip(1)], CancellationToken.None).GetAwaiter().GetResult();
            Console.Out.Write(result.StandardOutput);
            Console.Error.Write(result.StandardError);
            return result.ExitCode;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"{arguments[0]}: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// <c>hostnamectl [status]</c> and <c>hostnamectl set-hostname NAME</c> (what coreos-cloudinit runs):
    /// the machine's UTS namespace is the caller's own, so the hostname is set right here, and kept
    /// in /etc/hostname for the next boot.
    /// </summary>
    private static int Hostnamectl(IReadOnlyList<string> arguments)
    {
        string[] words = [.. arguments.Where(a => !a.StartsWith("--", StringComparison.Ordinal))];
        if (words.Length == 0 || words is ["status"])
        {
            Console.WriteLine($"   Static hostname: {File.ReadAllText("/etc/hostname").Trim()}");
            return 0;
        }

        if (words is not ["set-hostname", string name] || name.Length is 0 or > 64 || name.Contains('/', StringComparison.Ordinal))
        {
            Console.Error.WriteLine("usage: hostnamectl [status] | set-hostname NAME");
            return 1;
        }

        Mounts.SetHostname(name);
        File.WriteAllText("/etc/hostname", name + "\n");
        return 0;
    }

    private static async Task<int> RunAsync(string hostname)
    {
        var clock = Stopwatch.StartNew();
        ProcessSpawner.SetChildSubreaper();
        Directory.CreateDirectory("/run/systemd/system");
        Directory.CreateDirectory("/run/kola");

        IUnitManager manager = UnitManager.Create(new UnitManagerOptions
        {
            UnitDirectories = ["/etc/systemd/system", "/run/systemd/system", "/opt/platform/image/units"],
            BaseEnvironment = [.. NetnsMachine.MachineEnvironment().Select(kv => $"{kv.Key}={kv.Value}")],
            JournalPath = "/var/log/journal.txt",
            Hostname = hostname,
            HostnameSource = () => Environment.MachineName,
        });
        var reaper = new Thread(manager.RunReaper) { IsBackground = true, Name = "kola reaper" };
        reaper.Start();

        using var stopping = new CancellationTokenSource();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopping.Cancel();
        });

        await using (manager.ConfigureAwait(false))
        {
            IAsyncDisposable control = UnitControl.Serve(manager, ControlSocket);
            await using (control.ConfigureAwait(false))
            {
                await StartAsync(manager, MachineImage.CloudInitUnit, stopping.Token).ConfigureAwait(false);
                try
                {
                    await manager.StartDefaultTargetAsync(stopping.Token).ConfigureAwait(false);
                }
                catch (UnitException e)
                {
                    Console.WriteLine($"[FAILED] {e.Message}");
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    Console.WriteLine($"kola: {hostname} powering off while booting");
                    return 0;
                }

                await File.WriteAllTextAsync(BootedMarker, clock.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
                Console.WriteLine($"kola: {hostname} booted in {clock.Elapsed.TotalSeconds:F2}s");
                foreach (UnitStatus unit in manager.ListUnits())
                {
                    Console.WriteLine($"kola: {unit.Name} {unit.ActiveState} ({unit.SubState})");
                }

                try
                {
                    await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine($"kola: {hostname} powering off");
                }
            }
        }

        return 0;
    }

    private static async Task StartAsync(IUnitManager manager, string unit, CancellationToken cancellationToken)
    {
        try
        {
            await manager.StartAsync(unit, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"[  OK  ] Started {unit}");
        }
        catch (UnitException e)
        {
            Console.WriteLine($"[FAILED] {e.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.WriteLine($"kola: stopped waiting for {unit}: powering off");
        }
    }

    /// <summary>
    /// The machine's filesystem view. Every bind source is on the host's state root (never under a
    /// directory replaced here, checked by the platform), and Platform's binaries are bound below the
    /// machine's own /opt before /opt itself is replaced, so sources stay reachable in any order.
    /// </summary>
    private static void SetUpFilesystem(string machineDirectory, string binDirectory, string imageDirectory)
    {
        // Nothing mounted here may reach the host, and nothing the host mounts later matters here.
        Mounts.MakePrivate("/");
        string opt = Path.Join(machineDirectory, "opt");
        Mounts.Bind(binDirectory, Path.Join(opt, "platform", "bin"), readOnly: true);
        Mounts.Bind(imageDirectory, Path.Join(opt, "platform", "image"), readOnly: true);
        Mounts.Bind(opt, "/opt", recursive: true);
        foreach (string disk in (string[])["etc", "run", "var/lib", "var/log", "home", "tmp"])
        {
            Mounts.Bind(Path.Join(machineDirectory, disk), "/" + disk);
        }

        Mounts.Mount("proc", "/proc", "proc", MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec);
        Directory.SetCurrentDirectory("/");
    }
}
