namespace Platform.Rkt.Stage1;

/// <summary>
/// File names inside a pod directory (rkt's layout, <c>Documentation/devel/pod-lifecycle.md</c> and the
/// stage1 implementor's guide): what stage0 writes and stage1 reads, and where results go.
/// </summary>
public static class PodLayout
{
    /// <summary>The appc pod manifest.</summary>
    public static string Manifest(string pod) => Path.Join(pod, "pod");

    /// <summary>Host pid of the pod's stage1 (default flavor: PID 1 of the pod; fly: the app).</summary>
    public static string Pid(string pod) => Path.Join(pod, "pid");

    /// <summary>The pod's network namespace, bind-mounted (absent with <c>--net=host</c>).</summary>
    public static string Netns(string pod) => Path.Join(pod, "netns");

    public static string Stage1Plan(string pod) => Path.Join(pod, "stage1", "plan.json");

    /// <summary>The name of the flavor that runs the pod.</summary>
    public static string Stage1Flavor(string pod) => Path.Join(pod, "stage1", "flavor");

    /// <summary>The flavor name recorded by prepare; null when the pod has none yet (an embryo).</summary>
    public static string? ReadStage1Flavor(string pod) =>
        File.Exists(Stage1Flavor(pod)) ? File.ReadAllText(Stage1Flavor(pod)).Trim() : null;

    public static string Stage1Rootfs(string pod) => Path.Join(pod, "stage1", "rootfs");

    /// <summary>Where an app's root filesystem is mounted (<c>stage1/rootfs/opt/stage2/$app/rootfs</c>).</summary>
    public static string AppRootfs(string pod, string app) => Path.Join(pod, "stage1", "rootfs", "opt", "stage2", app, "rootfs");

    /// <summary>Overlay upper and work directories of an app.</summary>
    public static string AppOverlay(string pod, string app) => Path.Join(pod, "overlay", app);

    /// <summary>Exit status of an app, written by stage1's reaper (rkt's <c>/rkt/status/$app</c>).</summary>
    public static string AppStatusDirectory(string pod) => Path.Join(pod, "stage1", "rootfs", "rkt", "status");

    public static string AppStatus(string pod, string app) => Path.Join(AppStatusDirectory(pod), app);

    /// <summary><c>appsinfo/$app/</c>: <c>treeStoreID</c>, <c>manifest</c>.</summary>
    public static string AppInfo(string pod, string app) => Path.Join(pod, "appsinfo", app);

    /// <summary>Captured stdout and stderr of an app, in arrival order.</summary>
    public static string AppLog(string pod, string app) => Path.Join(pod, "logs", app + ".log");

    /// <summary>Directories of empty volumes.</summary>
    public static string EmptyVolume(string pod, string volume) => Path.Join(pod, "volumes", volume);

    /// <summary>The pod's cgroups, as <c>Platform.Linux.Cgroups.CgroupSet.Save</c> records them.</summary>
    public static string Cgroups(string pod) => Path.Join(pod, "cgroups");

    /// <summary>Time stage1 started the apps (ISO 8601), for <c>rkt status</c>.</summary>
    public static string Started(string pod) => Path.Join(pod, "started");
}
