namespace Platform.Kola.Units;

/// <summary>
/// A small systemd: loads units from <see cref="UnitManagerOptions.UnitDirectories"/>, starts and stops
/// services, records their output in the journal. Dispose stops every unit (KillSignal, then SIGKILL after
/// the stop timeout).
/// </summary>
public interface IUnitManager : IAsyncDisposable
{
    /// <summary>Reaps children until the manager is disposed; call it on a dedicated thread.</summary>
    public void RunReaper();

    /// <summary>Reloads every unit file and drop-in (running services keep running).</summary>
    public Task DaemonReloadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// systemd semantics for the verbs below; throws <see cref="UnitException"/> with systemctl's message on failure
    /// (e.g. "Failed to start x.service: Unit x.service not found." / "Job for x.service failed because
    /// the control process exited with error code.").
    /// </summary>
    public Task StartAsync(string unit, CancellationToken cancellationToken);

    public Task StopAsync(string unit, CancellationToken cancellationToken);

    public Task RestartAsync(string unit, CancellationToken cancellationToken);

    /// <summary>[Install] WantedBy/RequiredBy symlinks in /etc or /run .../&lt;target&gt;.wants (.requires); Alias= links.</summary>
    public Task EnableAsync(string unit, bool runtime, CancellationToken cancellationToken);

    /// <summary>Starts what is enabled (wanted by multi-user.target / default.target, in dependency order).</summary>
    public Task StartDefaultTargetAsync(CancellationToken cancellationToken);

    public UnitStatus GetStatus(string unit);

    /// <summary>Every loaded unit (loaded from disk or referenced), sorted by name.</summary>
    public IReadOnlyList<UnitStatus> ListUnits();

    /// <summary>
    /// Runs one systemctl command line (argv without "systemctl") as systemctl would and returns its
    /// exit code and output: start/stop/restart/try-restart/reload-or-restart/daemon-reload/enable
    /// (--runtime, --force)/disable/mask/unmask (--runtime)/is-active/is-failed/is-enabled/status/show -p X/
    /// list-units/cat; <c>--job-mode=...</c>, <c>--no-block</c>, <c>-q</c> accepted. Exit codes as systemctl
    /// (is-active: 0 active, 3 inactive; status: 3 when inactive, 4 unknown unit).
    /// </summary>
    public Task<ControlResult> SystemctlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken);

    /// <summary>journalctl subset: -u UNIT (repeatable), --no-pager, -n N, -o cat, -b.</summary>
    public Task<ControlResult> JournalctlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}

/// <summary>What <c>systemctl show</c> reports of a unit.</summary>
/// <param name="Name">The unit's full name (<c>etcd2.service</c>).</param>
/// <param name="LoadState">loaded, not-found, masked, error.</param>
/// <param name="ActiveState">active, inactive, activating, deactivating, failed.</param>
/// <param name="SubState">running, exited, dead, failed, start-pre, start, start-post, stop, auto-restart, ...</param>
/// <param name="MainPid">The main process while it runs.</param>
/// <param name="Result">success, exit-code, signal, timeout, core-dump, resources; null for units that never ran.</param>
public sealed record UnitStatus(string Name, string LoadState, string ActiveState, string SubState, int? MainPid, string? Result);

/// <summary>A command's exit code and output, as the command line tool would give them.</summary>
public sealed record ControlResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>A unit operation failed; <see cref="Exception.Message"/> is systemctl's message.</summary>
public sealed class UnitException : Exception
{
    public UnitException()
    {
    }

    public UnitException(string message)
        : base(message)
    {
    }

    public UnitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The exit code systemctl exits with for this failure (1 generic, 5 not found/not loaded).</summary>
    public int ExitCode { get; init; } = 1;
}
