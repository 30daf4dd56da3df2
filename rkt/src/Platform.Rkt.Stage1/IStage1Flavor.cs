namespace Platform.Rkt.Stage1;

/// <summary>
/// A stage1: runs a prepared pod (manifest, plan and rendered trees in the pod directory) to completion.
/// One folder per implementation (<c>Default/</c>, <c>Fly/</c>; a KVM flavor would boot a VM with the same
/// plan), registered by name in <see cref="Stage1Flavors"/>.
/// </summary>
public interface IStage1Flavor
{
    /// <summary>The name <c>--stage1-name</c> selects and <c>$pod/stage1/flavor</c> records.</summary>
    public string Name { get; }

    /// <summary>
    /// Runs the pod and returns the pod's exit code (rkt's: the first failing app's status, else 0).
    /// The caller holds the pod's exclusive lock on <see cref="Stage1RunRequest.LockFd"/>; the flavor keeps
    /// it held by the pod's processes for the pod's lifetime (rkt's <c>RKT_LOCK_FD</c>).
    /// </summary>
    public int Run(Stage1RunRequest request);
}

/// <summary>What stage0 hands a flavor.</summary>
public sealed class Stage1RunRequest
{
    public required string PodDirectory { get; init; }

    public required Stage1Plan Plan { get; init; }

    /// <summary>The open descriptor of the pod directory's exclusive flock.</summary>
    public required int LockFd { get; init; }

    /// <summary>argv prefix that starts this rkt's hidden stage1 entry point (<c>rkt __stage1 POD_DIR</c>).</summary>
    public required IReadOnlyList<string> Stage1Command { get; init; }

    /// <summary>The pod's cgroups (created and limited by stage0), or null when cgroups are unavailable.</summary>
    public Platform.Linux.Cgroups.CgroupSet? PodCgroup { get; init; }

    /// <summary>Called with the stage1 pid as soon as it exists (stage0 records it).</summary>
    public Action<int>? Started { get; init; }
}

/// <summary>The flavors by name.</summary>
public static class Stage1Flavors
{
    public const string DefaultName = "default";
    public const string FlyName = "fly";

    /// <summary>Names <c>--stage1-name</c> accepts, including rkt's image names for the two flavors.</summary>
    public static IReadOnlyList<string> Names { get; } = [DefaultName, FlyName];

    /// <exception cref="ArgumentException">Unknown flavor.</exception>
    public static IStage1Flavor Get(string name) => Normalize(name) switch
    {
        DefaultName => new Default.DefaultFlavor(),
        FlyName => new Fly.FlyFlavor(),
        _ => throw new ArgumentException($"unknown stage1 \"{name}\" (known: {string.Join(", ", Names)})"),
    };

    /// <summary>Maps rkt's stage1 image names (<c>coreos.com/rkt/stage1-fly:1.30.0</c>, <c>stage1-coreos.aci</c>) to a flavor name.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.ToLowerInvariant();
        if (n.Contains("fly", StringComparison.Ordinal))
        {
            return FlyName;
        }

        return n is "" or DefaultName || n.Contains("stage1-coreos", StringComparison.Ordinal) || n.Contains("stage1-src", StringComparison.Ordinal)
            || n.Contains("stage1-host", StringComparison.Ordinal) ? DefaultName : n;
    }
}
