using System.Globalization;
using Platform.Linux.Namespaces;
using Platform.Linux.Processes;
using Platform.Rkt.Stage1.Default;

namespace Platform.Rkt.Stage1.Fly;

/// <summary>
/// rkt's fly stage1: one app, no namespaces and no supervision. The app's rootfs (an overlay of its tree,
/// with the host's /proc, /sys and /dev bound in, and its volumes) is mounted in the host's mount
/// namespace under the pod directory (<c>rkt gc</c> unmounts it); then this very process becomes the app:
/// a fresh thread unshares its filesystem context, chroots, changes directory, takes the app's credentials
/// and capabilities, and calls execve, which replaces the process with the app — so the pod's pid is the
/// app's and the pod lock (<c>RKT_LOCK_FD</c>) is held by the app until it exits. Output is not captured.
/// </summary>
internal sealed class FlyFlavor : IStage1Flavor
{
    public string Name => Stage1Flavors.FlyName;

    public int Run(Stage1RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Plan.Apps.Count != 1)
        {
            throw new ArgumentException($"the fly stage1 runs exactly one app, not {request.Plan.Apps.Count}");
        }

        Stage1App app = request.Plan.Apps[0];
        string pod = request.PodDirectory;
        string root = AppFilesystem.Setup(pod, request.Plan, app, freshKernelFilesystems: false);
        int self = Environment.ProcessId;
        request.Started?.Invoke(self);
        File.WriteAllText(PodLayout.Started(pod), DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        request.PodCgroup?.AddProcess(self);
        ProcessSpawner.SetInheritable(request.LockFd, true);
        Console.Out.Flush();
        Console.Error.Flush();
        var credentials = new ThreadCredentials
        {
            Uid = app.Uid,
            Gid = app.Gid,
            SupplementaryGids = app.SupplementaryGids,
            RetainedCapabilities = app.Capabilities.ToHashSet(),
            NoNewPrivileges = app.NoNewPrivileges,
        };
        var environment = new List<string>(app.Environment) { $"RKT_LOCK_FD={request.LockFd.ToString(CultureInfo.InvariantCulture)}" };
        NamespaceLauncher.ExecFromPreparedThread(
            () =>
            {
                NamespaceLauncher.UnshareThreadFilesystem();
                Mounts.ChangeRoot(root);
                Mounts.ChangeDirectory("/");
                Mounts.ChangeDirectory(app.WorkingDirectory);
                credentials.ApplyToCurrentThread();
            },
            new SpawnRequest { Path = app.Exec[0], Arguments = app.Exec, Environment = environment });
        return 254; // not reached: ExecFromPreparedThread throws on failure
    }
}
