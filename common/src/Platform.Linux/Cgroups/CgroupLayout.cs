namespace Platform.Linux.Cgroups;

/// <summary>cgroup v1 (one hierarchy per controller set) or v2 (the unified hierarchy).</summary>
public enum CgroupVersion
{
    V1,
    V2,
}

/// <summary>One mounted cgroup hierarchy.</summary>
/// <param name="MountPoint">Where it is mounted, e.g. <c>/sys/fs/cgroup/memory</c>.</param>
/// <param name="Version">v1 or v2.</param>
/// <param name="Controllers">v1: the controllers bound to it (<c>memory</c>, <c>cpu</c>, <c>name=systemd</c>); v2: empty.</param>
public sealed record CgroupHierarchy(string MountPoint, CgroupVersion Version, IReadOnlyList<string> Controllers)
{
    /// <summary>The key this hierarchy has in <c>/proc/PID/cgroup</c>: its controllers joined by commas, empty for v2.</summary>
    public string Key => Version == CgroupVersion.V2 ? string.Empty : string.Join(',', Controllers);

    public bool Has(string controller) => Controllers.Contains(controller);
}

/// <summary>
/// The cgroup hierarchies of this host, from <c>/proc/self/mountinfo</c>: pure v1, pure v2 (unified), or
/// hybrid (v1 controllers plus a v2 mount without controllers, e.g. <c>/sys/fs/cgroup/unified</c>, as on
/// this project's CI machines — the layout crun refuses). Pure data: tests parse fake mountinfo text.
/// </summary>
public sealed class CgroupLayout
{
    private CgroupLayout(IReadOnlyList<CgroupHierarchy> hierarchies)
    {
        Hierarchies = hierarchies;
    }

    public IReadOnlyList<CgroupHierarchy> Hierarchies { get; }

    /// <summary><c>v1</c>, <c>v2</c>, <c>hybrid</c> or <c>none</c>.</summary>
    public string Mode
    {
        get
        {
            bool v1 = Hierarchies.Any(h => h.Version == CgroupVersion.V1);
            bool v2 = Hierarchies.Any(h => h.Version == CgroupVersion.V2);
            return (v1, v2) switch
            {
                (true, true) => "hybrid",
                (true, false) => "v1",
                (false, true) => "v2",
                _ => "none",
            };
        }
    }

    /// <summary>The hierarchy that controls <paramref name="controller"/>: a v1 one with it, else the v2 one.</summary>
    public CgroupHierarchy? For(string controller) =>
        Hierarchies.FirstOrDefault(h => h.Version == CgroupVersion.V1 && h.Has(controller))
        ?? Hierarchies.FirstOrDefault(h => h.Version == CgroupVersion.V2);

    /// <summary>The running host's layout.</summary>
    public static CgroupLayout Detect() => Parse(File.ReadAllText("/proc/self/mountinfo"));

    /// <summary>Parses mountinfo text; later mounts of the same hierarchy (bind mounts) are ignored.</summary>
    public static CgroupLayout Parse(string mountInfo)
    {
        ArgumentNullException.ThrowIfNull(mountInfo);
        var found = new List<CgroupHierarchy>();
        foreach (string line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0)
            {
                continue;
            }

            string[] left = line[..dash].Split(' ');
            string[] right = line[(dash + 3)..].Split(' ');
            if (left.Length < 5 || right.Length < 3 || left[3] != "/")
            {
                continue;
            }

            string mountPoint = Namespaces.Mounts.Unescape(left[4]);
            if (right[0] == "cgroup2")
            {
                if (!found.Any(h => h.Version == CgroupVersion.V2))
                {
                    found.Add(new CgroupHierarchy(mountPoint, CgroupVersion.V2, []));
                }
            }
            else if (right[0] == "cgroup")
            {
                var controllers = right[2].Split(',')
                    .Where(o => o is not ("rw" or "ro" or "relatime" or "noatime" or "nosuid" or "nodev" or "noexec" or "clone_children" or "noprefix" or "nsdelegate" or "xattr")
                                && !o.StartsWith("release_agent=", StringComparison.Ordinal))
                    .ToList();
                if (controllers.Count > 0 && !found.Any(h => h.Version == CgroupVersion.V1 && h.Key == string.Join(',', controllers)))
                {
                    found.Add(new CgroupHierarchy(mountPoint, CgroupVersion.V1, controllers));
                }
            }
        }

        return new CgroupLayout(found);
    }

    /// <summary>
    /// The cgroup of a process in each hierarchy, from <c>/proc/PID/cgroup</c> text
    /// (<c>4:memory:/a/b</c>, <c>0::/x</c>): absolute directories under the mount points.
    /// </summary>
    public IReadOnlyDictionary<CgroupHierarchy, string> Locate(string procCgroup)
    {
        ArgumentNullException.ThrowIfNull(procCgroup);
        var result = new Dictionary<CgroupHierarchy, string>();
        foreach (string line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            CgroupHierarchy? hierarchy = parts[0] == "0" && parts[1].Length == 0
                ? Hierarchies.FirstOrDefault(h => h.Version == CgroupVersion.V2)
                : Hierarchies.FirstOrDefault(h => h.Version == CgroupVersion.V1 && h.Key == parts[1]);
            if (hierarchy is not null)
            {
                result[hierarchy] = Path.Join(hierarchy.MountPoint, parts[2].TrimStart('/')).TrimEnd('/');
            }
        }

        return result;
    }
}
