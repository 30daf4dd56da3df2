using Platform.Linux.Namespaces;

namespace Platform.Rkt.Stage1.Default;

/// <summary>
/// Builds an app's root filesystem in the calling thread's mount namespace: an overlay whose lower layer
/// is the rendered tree (never written) and whose upper layer lives in the pod directory, then
/// <c>/proc</c>, <c>/sys</c>, a minimal <c>/dev</c> (null, zero, full, random, urandom, tty, a private
/// devpts with ptmx, shm), <c>/etc/hostname</c>, <c>/etc/hosts</c>, <c>/etc/resolv.conf</c>, the volumes,
/// and finally a read-only remount when asked.
/// </summary>
internal static class AppFilesystem
{
    private static readonly string[] s_devices = ["null", "zero", "full", "random", "urandom", "tty"];

    /// <param name="pod">The pod directory.</param>
    /// <param name="plan">The pod plan.</param>
    /// <param name="app">The app.</param>
    /// <param name="freshKernelFilesystems">True in the pod's own namespaces (new proc and sysfs); false for fly (the host's, bound).</param>
    public static string Setup(string pod, Stage1Plan plan, Stage1App app, bool freshKernelFilesystems)
    {
        string root = PodLayout.AppRootfs(pod, app.Name);
        Directory.CreateDirectory(root);
        string overlay = PodLayout.AppOverlay(pod, app.Name);
        string upper = Path.Join(overlay, "upper");
        string work = Path.Join(overlay, "work");
        Directory.CreateDirectory(upper);
        Directory.CreateDirectory(work);
        Mounts.Mount("overlay", root, "overlay", MountFlags.None, $"lowerdir={app.TreeRootfs},upperdir={upper},workdir={work}");

        string proc = InRoot.Resolve(root, "/proc", createDirectories: true);
        string sys = InRoot.Resolve(root, "/sys", createDirectories: true);
        string dev = InRoot.Resolve(root, "/dev", createDirectories: true);
        if (freshKernelFilesystems)
        {
            Mounts.Mount("proc", proc, "proc", MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec);
            Mounts.Mount("sysfs", sys, "sysfs", MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec | MountFlags.ReadOnly);
            SetupDev(dev, plan.Interactive);
        }
        else
        {
            Mounts.Bind("/proc", proc, recursive: true);
            Mounts.Bind("/sys", sys, recursive: true);
            Mounts.Bind("/dev", dev, recursive: true);
        }

        string etc = InRoot.Resolve(root, "/etc", createDirectories: true);
        WriteFile(etc, "hostname", plan.Hostname + "\n");
        if (plan.Hosts is not null)
        {
            WriteFile(etc, "hosts", plan.Hosts);
        }

        if (plan.ResolvConf is not null)
        {
            WriteFile(etc, "resolv.conf", plan.ResolvConf);
        }

        foreach (Stage1Mount mount in app.Mounts)
        {
            // Empty volumes are recorded relative to the pod directory (it moves between state directories).
            string source = Path.IsPathRooted(mount.Source) ? mount.Source : Path.Join(pod, mount.Source);
            bool isFile = File.Exists(source) && !Directory.Exists(source);
            string target = InRoot.Resolve(root, mount.Target, createDirectories: !isFile);
            if (isFile && !File.Exists(target))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.WriteAllBytes(target, []);
            }

            Mounts.Bind(source, target, mount.Recursive, mount.ReadOnly);
        }

        if (app.ReadOnlyRootfs)
        {
            Mounts.RemountReadOnly(root);
        }

        return root;
    }

    /// <param name="dev">The app's /dev.</param>
    /// <param name="hostPts">
    /// <c>--interactive</c>: the app's terminal is stage0's, a host pty; binding the host's devpts keeps
    /// its name resolvable (ttyname, job control) instead of a private devpts instance.
    /// </param>
    private static void SetupDev(string dev, bool hostPts)
    {
        Mounts.Mount("tmpfs", dev, "tmpfs", MountFlags.NoSuid | MountFlags.StrictAtime, "mode=755");
        foreach (string device in s_devices)
        {
            string node = Path.Join(dev, device);
            File.WriteAllBytes(node, []);
            Mounts.Bind("/dev/" + device, node);
        }

        string pts = Path.Join(dev, "pts");
        Directory.CreateDirectory(pts);
        if (hostPts)
        {
            Mounts.Bind("/dev/pts", pts);
        }
        else
        {
            Mounts.Mount("devpts", pts, "devpts", MountFlags.NoSuid | MountFlags.NoExec, "newinstance,ptmxmode=0666,mode=0620");
        }

        File.CreateSymbolicLink(Path.Join(dev, "ptmx"), "pts/ptmx");
        string shm = Path.Join(dev, "shm");
        Directory.CreateDirectory(shm);
        Mounts.Mount("shm", shm, "tmpfs", MountFlags.NoSuid | MountFlags.NoDev, "mode=1777");
        File.CreateSymbolicLink(Path.Join(dev, "fd"), "/proc/self/fd");
        File.CreateSymbolicLink(Path.Join(dev, "stdin"), "/proc/self/fd/0");
        File.CreateSymbolicLink(Path.Join(dev, "stdout"), "/proc/self/fd/1");
        File.CreateSymbolicLink(Path.Join(dev, "stderr"), "/proc/self/fd/2");
    }

    private static void WriteFile(string directory, string name, string content)
    {
        string path = Path.Join(directory, name);
        if (new FileInfo(path).LinkTarget is not null || Directory.Exists(path))
        {
            // Replace a symlink or directory the image put there rather than write through it.
            if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }

        File.WriteAllText(path, content);
    }
}
