namespace Platform.Kola.Units;

/// <summary>How a <see cref="IUnitManager"/> finds units, what services start with and where the journal goes.</summary>
public sealed record UnitManagerOptions
{
    /// <summary>Unit search path, first wins: e.g. ["/etc/systemd/system", "/run/systemd/system", "&lt;image&gt;/units"].</summary>
    /// <remarks>
    /// <c>enable</c> writes its symbolic links into the first directory (the <c>/etc</c> one) or, with
    /// <c>--runtime</c>, into the <see cref="RuntimeDirectory"/>.
    /// </remarks>
    public required IReadOnlyList<string> UnitDirectories { get; init; }

    /// <summary>Environment every service starts with (NAME=value), before the unit's Environment=/EnvironmentFile=.</summary>
    public required IReadOnlyList<string> BaseEnvironment { get; init; }

    /// <summary>Where the journal is appended (one line per record), created if missing.</summary>
    public required string JournalPath { get; init; }

    /// <summary>Hostname printed in journal lines.</summary>
    public string Hostname { get; init; } = "localhost";

    /// <summary>
    /// When set, asked for the hostname of every journal line and of %H at unit load (e.g.
    /// <c>() =&gt; Environment.MachineName</c> in a machine whose hostname cloud-config changes);
    /// <see cref="Hostname"/> is used when it returns null or empty.
    /// </summary>
    public Func<string?>? HostnameSource { get; init; }

    /// <summary>
    /// True (the default, for PID 1 of a PID namespace): the reaper reaps every child of the process,
    /// orphans included. False (tests, or any process that is not an init): it waits only for the pids
    /// the manager spawned, so other children of the process (xunit's, System.Diagnostics.Process's)
    /// are left to their owners.
    /// </summary>
    public bool ReapAll { get; init; } = true;

    /// <summary>
    /// Where <c>enable --runtime</c> and <c>mask --runtime</c> write; default: the entry of
    /// <see cref="UnitDirectories"/> that ends in <c>/run/systemd/system</c>, else the second entry, else the first.
    /// </summary>
    public string? RuntimeDirectory { get; init; }

    /// <summary>machine-id file for the <c>%m</c> specifier.</summary>
    public string MachineIdPath { get; init; } = "/etc/machine-id";

    /// <summary>Called on the reaper thread for a reaped child the manager did not start (ReapAll mode only).</summary>
    public Action<int, Platform.Linux.Processes.ExitStatus>? ForeignChildExited { get; init; }

    /// <summary>Time a stopping service gets after its KillSignal before SIGKILL, unless the unit sets TimeoutStopSec.</summary>
    public TimeSpan DefaultTimeoutStop { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Activation limit unless the unit sets TimeoutStartSec.</summary>
    public TimeSpan DefaultTimeoutStart { get; init; } = TimeSpan.FromSeconds(90);
}
