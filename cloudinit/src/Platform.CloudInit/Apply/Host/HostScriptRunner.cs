namespace Platform.CloudInit.Apply.Host;

/// <summary>
/// Runs a user-data script as coreos-cloudinit does: a transient unit
/// <c>coreos-cloudinit-&lt;file&gt;.service</c> executing <c>/bin/bash &lt;path&gt;</c> (systemd-run),
/// or, without systemd, bash directly to completion.
/// </summary>
internal sealed class HostScriptRunner : IScriptRunner
{
    private readonly bool _systemdRunning;

    public HostScriptRunner(bool systemdRunning)
    {
        _systemdRunning = systemdRunning;
    }

    public async Task<string> RunAsync(string path, CancellationToken cancellationToken)
    {
        string unit = $"coreos-cloudinit-{Path.GetFileName(path)}.service";
        if (_systemdRunning)
        {
            await ProcessRunner.RunAsync(
                "systemd-run",
                [$"--unit={unit}", "--description=Unit generated and executed by coreos-cloudinit on behalf of user", "/bin/bash", path],
                null,
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ProcessRunner.RunAsync("/bin/bash", [path], null, cancellationToken).ConfigureAwait(false);
        }

        return unit;
    }
}
