using Platform.CloudInit.Apply.Host;
using Platform.CloudInit.Apply.Tree;

namespace Platform.CloudInit.Apply;

/// <summary>The system effects for a target: this machine (root <c>/</c>) or an image tree.</summary>
/// <param name="Systemctl">Unit manager.</param>
/// <param name="Users">User database.</param>
/// <param name="Hostname">Hostname setter.</param>
/// <param name="Scripts">Script runner.</param>
/// <param name="RecordedCommands">The systemctl commands recorded rather than run (live view).</param>
public sealed record SystemEffects(ISystemctl Systemctl, IUserManager Users, IHostname Hostname, IScriptRunner Scripts, Func<IReadOnlyList<string>> RecordedCommands)
{
    /// <summary>
    /// For <paramref name="root"/> <c>/</c>: systemctl/useradd/hostnamectl on this machine (commands
    /// recorded when systemd is not running). For any other root: the tree's own files, with unit
    /// commands and scripts recorded for the first boot.
    /// </summary>
    public static SystemEffects ForRoot(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (Path.GetFullPath(root) == "/")
        {
            bool systemd = Directory.Exists("/run/systemd/system");
            var systemctl = new HostSystemctl(systemd);
            return new SystemEffects(systemctl, new HostUserManager(), new HostHostname(systemd), new HostScriptRunner(systemd), () => systemctl.Recorded);
        }

        var tree = new TreeSystemctl(root);
        return new SystemEffects(tree, new TreeUserManager(root), new TreeHostname(root), new RecordingScriptRunner(), () => tree.Recorded);
    }
}
