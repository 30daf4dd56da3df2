using Platform.Kola.Netns.Flight;
using Platform.Kola.Netns.Machines;
using Platform.Kola.Platforms;

namespace Platform.Kola.Netns;

/// <summary>How the netns platform builds its machines.</summary>
public sealed record NetnsOptions
{
    /// <summary>
    /// Platform's published executables (<c>out/bin</c>: etcd, flanneld, rkt, coreos-cloudinit, kola,
    /// cni/flannel). Machines see them at <c>/opt/platform/bin</c>.
    /// </summary>
    public required string BinDirectory { get; init; }

    /// <summary>
    /// Where flights keep machine disks (<c>/etc</c>, <c>/var/lib</c>, ...), one directory per flight.
    /// Must not lie under a directory machines get privately (/etc, /run, /var/lib, /var/log, /tmp, /home, /opt).
    /// </summary>
    public string StateRoot { get; init; } = "/var/tmp/kola";

    /// <summary>
    /// The flight's name: namespaces are <c>kola-NAME</c> (the flight's switch and services) and
    /// <c>kola-NAME-mN</c>. Null picks a fresh random one; a fixed one (e.g. <c>up</c>) replaces a
    /// previous flight of that name.
    /// </summary>
    public string? FlightName { get; init; }

    /// <summary>Keeps the flight (machines, namespaces, state) when it is disposed, for <c>kola spawn --keep</c>.</summary>
    public bool Keep { get; init; }

    /// <summary>Where progress lines go (phase timings), or null.</summary>
    public TextWriter? Progress { get; init; }
}

/// <summary>kola's <c>netns</c> platform: every machine a set of namespaces on this host.</summary>
public static class NetnsPlatform
{
    /// <summary>The name users pass to <c>kola run -p</c>.</summary>
    public const string Name = "netns";

    /// <summary>The hidden <c>kola</c> verb that runs a machine's supervisor (the child of its PID 1).</summary>
    public const string SupervisorVerb = "__machine";

    /// <summary>The hidden <c>kola</c> verb behind a machine's <c>systemctl</c> and <c>journalctl</c>.</summary>
    public const string ControlVerb = "__ctl";

    /// <summary>A flight factory for <c>kola run</c>/<c>spawn</c>.</summary>
    public static IFlightFactory CreateFactory(NetnsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new NetnsFlightFactory(options);
    }

    /// <summary>
    /// Removes a flight left by <c>kola spawn --keep</c> or a crashed run: kills its machines and
    /// services, deletes its namespaces and state. Idempotent. Returns what was removed, for printing.
    /// </summary>
    public static IReadOnlyList<string> Destroy(string flightName, string stateRoot = "/var/tmp/kola") =>
        FlightCleanup.Destroy(flightName, stateRoot);

    /// <summary>The command prefix that runs a host command in <paramref name="machine"/>'s network namespace (<c>ip netns exec kola-F-ID</c>).</summary>
    public static string NetworkCommand(IMachine machine) =>
        $"ip netns exec {Path.GetFileName(((NetnsMachine)machine).NamespacePath)}";

    /// <summary>The command prefix that runs a command inside <paramref name="machine"/> as <see cref="IMachine.RunAsync"/> does (nsenter into all its namespaces, its PATH).</summary>
    public static string ShellCommand(IMachine machine) =>
        $"nsenter -t {((NetnsMachine)machine).SupervisorPid} -m -u -i -n -p env PATH={NetnsMachine.MachinePath}";

    /// <summary>A short description of a machine for listings.</summary>
    public static string Describe(IMachine machine) =>
        $"netns {Path.GetFileName(((NetnsMachine)machine).NamespacePath)}, init pid {((NetnsMachine)machine).SupervisorPid}, disks {((NetnsMachine)machine).Directory}";

    /// <summary>Runs a machine's supervisor (the <see cref="SupervisorVerb"/> entry point); returns the exit code.</summary>
    public static int RunSupervisor(IReadOnlyList<string> arguments) => MachineSupervisor.Run(arguments);

    /// <summary>
    /// <c>systemctl</c> and <c>journalctl</c> inside a machine (the <see cref="ControlVerb"/> entry point):
    /// forwards <paramref name="arguments"/> (tool name first) to the supervisor and prints its answer.
    /// </summary>
    public static int RunControl(IReadOnlyList<string> arguments) => MachineSupervisor.RunControl(arguments);
}
