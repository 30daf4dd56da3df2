namespace Platform.CloudInit.Apply.Host;

/// <summary>This machine's hostname: set with hostnamectl when systemd runs, else /etc/hostname plus sethostname via hostname(1).</summary>
internal sealed class HostHostname : IHostname
{
    private readonly bool _systemdRunning;

    public HostHostname(bool systemdRunning)
    {
        _systemdRunning = systemdRunning;
    }

    public string Current() => System.Net.Dns.GetHostName();

    public async Task SetAsync(string hostname, CancellationToken cancellationToken)
    {
        if (_systemdRunning)
        {
            await ProcessRunner.RunAsync("hostnamectl", ["set-hostname", hostname], null, cancellationToken).ConfigureAwait(false);
            return;
        }

        await new Tree.TreeHostname("/").SetAsync(hostname, cancellationToken).ConfigureAwait(false);
        await ProcessRunner.RunAsync("hostname", [hostname], null, cancellationToken).ConfigureAwait(false);
    }
}
