using System.Globalization;

namespace Platform.Linux.Cgroups;

/// <summary>Resource limits of a pod or an app (appc <c>resource/memory</c> and <c>resource/cpu</c>).</summary>
public sealed record CgroupLimits
{
    /// <summary>Memory limit in bytes, or null for none.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>CPU limit in millicores (1000 = one CPU), or null for none.</summary>
    public long? CpuMillicores { get; init; }
}

/// <summary>
/// One logical cgroup: a directory of the same relative name in every hierarchy of the host (every v1
/// hierarchy and the v2 one), created under the caller's own cgroups. Limits are written where the
/// controller lives (v1 <c>memory.limit_in_bytes</c>, <c>cpu.cfs_quota_us</c>; v2 <c>memory.max</c>,
/// <c>cpu.max</c>), so v1, v2 and hybrid hosts all work. The set of directories is recorded with
/// <see cref="Save"/> so another process (rkt gc) can remove it without knowing who created it.
/// </summary>
public sealed class CgroupSet
{
    private const long CpuPeriodMicros = 100_000;

    private CgroupSet(IReadOnlyList<(CgroupHierarchy Hierarchy, string Path)> directories)
    {
        Directories = directories;
    }

    /// <summary>The absolute directories, one per hierarchy.</summary>
    public IReadOnlyList<(CgroupHierarchy Hierarchy, string Path)> Directories { get; }

    /// <summary>
    /// Creates <paramref name="name"/> under the cgroups <paramref name="parents"/> (usually
    /// <see cref="CgroupLayout.Locate"/> of the calling process). A hierarchy where the directory cannot be
    /// made (read-only, permissions) is skipped unless it is needed for a limit, which then fails at
    /// <see cref="Apply"/>.
    /// </summary>
    public static CgroupSet Create(IReadOnlyDictionary<CgroupHierarchy, string> parents, string name)
    {
        ArgumentNullException.ThrowIfNull(parents);
        ValidateName(name);
        var made = new List<(CgroupHierarchy, string)>();
        foreach ((CgroupHierarchy hierarchy, string parent) in parents)
        {
            string path = Path.Join(parent, name);
            try
            {
                Directory.CreateDirectory(path);
                InheritCpuset(hierarchy, parent, path);
                made.Add((hierarchy, path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // e.g. a hierarchy mounted read-only in a sandbox: left out.
            }
        }

        return new CgroupSet(made);
    }

    /// <summary>A child cgroup (same name in every hierarchy of this set).</summary>
    public CgroupSet CreateChild(string name)
    {
        ValidateName(name);
        var made = new List<(CgroupHierarchy, string)>();
        foreach ((CgroupHierarchy hierarchy, string path) in Directories)
        {
            string child = Path.Join(path, name);
            Directory.CreateDirectory(child);
            InheritCpuset(hierarchy, path, child);
            made.Add((hierarchy, child));
        }

        return new CgroupSet(made);
    }

    /// <summary>
    /// Writes the limits. On v2, the controllers are first enabled in the parent's
    /// <c>cgroup.subtree_control</c>.
    /// </summary>
    /// <exception cref="IOException">A limit cannot be applied (no hierarchy has the controller, or the write failed).</exception>
    public void Apply(CgroupLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits.MemoryBytes is { } memory)
        {
            (CgroupHierarchy h, string path) = Find("memory");
            if (h.Version == CgroupVersion.V1)
            {
                WriteFile(path, "memory.limit_in_bytes", memory.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                EnableV2Controller(path, "memory");
                WriteFile(path, "memory.max", memory.ToString(CultureInfo.InvariantCulture));
            }
        }

        if (limits.CpuMillicores is { } milli)
        {
            long quota = Math.Max(1000, milli * CpuPeriodMicros / 1000);
            (CgroupHierarchy h, string path) = Find("cpu");
            if (h.Version == CgroupVersion.V1)
            {
                WriteFile(path, "cpu.cfs_period_us", CpuPeriodMicros.ToString(CultureInfo.InvariantCulture));
                WriteFile(path, "cpu.cfs_quota_us", quota.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                EnableV2Controller(path, "cpu");
                WriteFile(path, "cpu.max", $"{quota} {CpuPeriodMicros}");
            }
        }
    }

    /// <summary>Moves process <paramref name="pid"/> (all its threads) into this cgroup in every hierarchy.</summary>
    public void AddProcess(int pid)
    {
        foreach ((_, string path) in Directories)
        {
            WriteFile(path, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Moves only thread <paramref name="tid"/> in the v1 hierarchies (their <c>tasks</c> file), so that a
    /// child spawned from that thread is born inside. v2 keeps all threads of a process in one cgroup; there
    /// the child is moved with <see cref="AddProcess"/> right after it is spawned.
    /// </summary>
    public void AddThreadV1(int tid)
    {
        foreach ((CgroupHierarchy h, string path) in Directories)
        {
            if (h.Version == CgroupVersion.V1)
            {
                WriteFile(path, "tasks", tid.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Moves process <paramref name="pid"/> in the v2 hierarchy only.</summary>
    public void AddProcessV2(int pid)
    {
        foreach ((CgroupHierarchy h, string path) in Directories)
        {
            if (h.Version == CgroupVersion.V2)
            {
                WriteFile(path, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Reads a control file of the hierarchy holding <paramref name="controller"/>.</summary>
    public string Read(string controller, string file) => File.ReadAllText(Path.Join(Find(controller).Path, file)).Trim();

    /// <summary>Records the directories, one per line, in <paramref name="file"/>.</summary>
    public void Save(string file) =>
        File.WriteAllLines(file, Directories.Select(d => $"{(d.Hierarchy.Version == CgroupVersion.V2 ? "2" : "1")} {string.Join(',', d.Hierarchy.Controllers)} {d.Hierarchy.MountPoint} {d.Path}"));

    /// <summary>The set <see cref="Save"/> recorded.</summary>
    public static CgroupSet Load(string file)
    {
        var directories = new List<(CgroupHierarchy, string)>();
        foreach (string line in File.ReadAllLines(file))
        {
            string[] parts = line.Split(' ', 4);
            if (parts.Length == 4)
            {
                var h = new CgroupHierarchy(parts[2], parts[0] == "2" ? CgroupVersion.V2 : CgroupVersion.V1, parts[1].Length == 0 ? [] : parts[1].Split(','));
                directories.Add((h, parts[3]));
            }
        }

        return new CgroupSet(directories);
    }

    /// <summary>
    /// Removes the directories, children first. Returns false when some still hold processes (EBUSY),
    /// true when everything is gone (also when already removed).
    /// </summary>
    public bool TryRemove()
    {
        bool all = true;
        foreach ((_, string path) in Directories)
        {
            if (!Directory.Exists(path))
            {
                continue;
            }

            // cgroupfs directories are removed with rmdir, child directories first; their files are virtual.
            foreach (string child in Directory.EnumerateDirectories(path, "*", SearchOption.AllDirectories).OrderByDescending(p => p.Length))
            {
                all &= TryRmdir(child);
            }

            all &= TryRmdir(path);
        }

        return all;
    }

    /// <summary>
    /// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and the kernel refuses tasks
    /// (ENOSPC) until they are set: copy the parent's.
    /// </summary>
    private static void InheritCpuset(CgroupHierarchy hierarchy, string parent, string path)
    {
        if (hierarchy.Version != CgroupVersion.V1 || !hierarchy.Has("cpuset"))
        {
            return;
        }

        foreach (string file in (string[])["cpuset.cpus", "cpuset.mems"])
        {
            string mine = Path.Join(path, file);
            if (File.Exists(mine) && File.ReadAllText(mine).Trim().Length == 0)
            {
                WriteFile(path, file, File.ReadAllText(Path.Join(parent, file)).Trim());
            }
        }
    }

    private static bool TryRmdir(string path)
    {
        try
        {
            Directory.Delete(path, recursive: false);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private (CgroupHierarchy Hierarchy, string Path) Find(string controller)
    {
        foreach ((CgroupHierarchy h, string path) in Directories)
        {
            if (h.Version == CgroupVersion.V1 && h.Has(controller))
            {
                return (h, path);
            }
        }

        foreach ((CgroupHierarchy h, string path) in Directories)
        {
            if (h.Version == CgroupVersion.V2 && V2Available(path, controller))
            {
                return (h, path);
            }
        }

        throw new IOException($"no cgroup hierarchy with the {controller} controller is available");
    }

    private static bool V2Available(string path, string controller)
    {
        string? parent = Path.GetDirectoryName(path);
        string file = Path.Join(parent, "cgroup.controllers");
        return File.Exists(file) && File.ReadAllText(file).Split(' ', '\n').Contains(controller);
    }

    private static void EnableV2Controller(string path, string controller)
    {
        string parent = Path.GetDirectoryName(path)!;
        string control = Path.Join(parent, "cgroup.subtree_control");
        if (!File.ReadAllText(control).Split(' ', '\n').Contains(controller))
        {
            WriteFile(parent, "cgroup.subtree_control", "+" + controller);
        }
    }

    private static void WriteFile(string directory, string file, string value)
    {
        string path = Path.Join(directory, file);
        try
        {
            // cgroupfs wants one write(2) of the whole value (O_TRUNC is accepted and ignored there).
            using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, 1);
            byte[] bytes = System.Text.Encoding.ASCII.GetBytes(value);
            stream.Write(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write \"{value}\" to {path}: {e.Message}", e);
        }
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"invalid cgroup name \"{name}\"", nameof(name));
        }
    }
}
