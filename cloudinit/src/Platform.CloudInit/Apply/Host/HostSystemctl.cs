namespace Platform.CloudInit.Apply.Host;

/// <summary>
/// systemd of this machine: commands go to <c>systemctl</c> when systemd is running (it has
/// /run/systemd/system), and are recorded (in <see cref="Recorded"/>) when it is not, e.g. in a
/// container or a build chroot.
/// </summary>
internal sealed class HostSystemctl : ISystemctl
{
    private readonly bool _systemdRunning;
    private readonly Tree.TreeSystemctl _offline = new("/");

    public HostSystemctl(bool systemdRunning)
    {
        _systemdRunning = systemdRunning;
    }

    public IReadOnlyList<string> Recorded => _offline.Recorded;

    public Task DaemonReloadAsync(CancellationToken cancellationToken) =>
        _systemdRunning ? ProcessRunner.RunAsync("systemctl", ["daemon-reload"], null, cancellationToken) : _offline.DaemonReloadAsync(cancellationToken);

    public Task EnableAsync(Config.Unit unit, CancellationToken cancellationToken) =>
        _systemdRunning
            ? ProcessRunner.RunAsync("systemctl", unit.Runtime ? ["enable", "--runtime", "--force", unit.Name] : ["enable", "--force", unit.Name], null, cancellationToken)
            : _offline.EnableAsync(unit, cancellationToken);

    public async Task<string> RunAsync(string command, string unit, CancellationToken cancellationToken)
    {
        if (!_systemdRunning)
        {
            return await _offline.RunAsync(command, unit, cancellationToken).ConfigureAwait(false);
        }

        await ProcessRunner.RunAsync("systemctl", [command, "--job-mode=replace", unit], null, cancellationToken).ConfigureAwait(false);
        return "done";
    }
}
