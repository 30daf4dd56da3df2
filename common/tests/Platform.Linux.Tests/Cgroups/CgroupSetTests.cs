using Platform.Linux.Cgroups;
using Platform.Testing;

namespace Platform.Linux.Tests.Cgroups;

/// <summary>CgroupSet on fake cgroupfs trees (plain directories with the control files a kernel would show).</summary>
public sealed class CgroupSetTests
{
    [Fact]
    public void ApplyV1_WritesMemoryAndCfsQuota_InheritsCpuset()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(ApplyV1_WritesMemoryAndCfsQuota_InheritsCpuset));
        var memory = new CgroupHierarchy(dir.Combine("memory"), CgroupVersion.V1, ["memory"]);
        var cpu = new CgroupHierarchy(dir.Combine("cpu"), CgroupVersion.V1, ["cpu", "cpuacct"]);
        var cpuset = new CgroupHierarchy(dir.Combine("cpuset"), CgroupVersion.V1, ["cpuset"]);
        foreach (CgroupHierarchy h in (CgroupHierarchy[])[memory, cpu, cpuset])
        {
            Directory.CreateDirectory(Path.Join(h.MountPoint, "parent"));
        }

        File.WriteAllText(Path.Join(cpuset.MountPoint, "parent", "cpuset.cpus"), "0-1\n");
        File.WriteAllText(Path.Join(cpuset.MountPoint, "parent", "cpuset.mems"), "0\n");
        // The kernel creates these files empty in a new cpuset cgroup; simulate by pre-creating them.
        Directory.CreateDirectory(Path.Join(cpuset.MountPoint, "parent", "pod"));
        File.WriteAllText(Path.Join(cpuset.MountPoint, "parent", "pod", "cpuset.cpus"), string.Empty);
        File.WriteAllText(Path.Join(cpuset.MountPoint, "parent", "pod", "cpuset.mems"), string.Empty);

        var parents = new Dictionary<CgroupHierarchy, string>
        {
            [memory] = Path.Join(memory.MountPoint, "parent"),
            [cpu] = Path.Join(cpu.MountPoint, "parent"),
            [cpuset] = Path.Join(cpuset.MountPoint, "parent"),
        };
        CgroupSet pod = CgroupSet.Create(parents, "pod");
        foreach (string f in (string[])["memory.limit_in_bytes"])
        {
            File.WriteAllText(Path.Join(memory.MountPoint, "parent", "pod", f), "9223372036854771712");
        }

        File.WriteAllText(Path.Join(cpu.MountPoint, "parent", "pod", "cpu.cfs_period_us"), "100000");
        File.WriteAllText(Path.Join(cpu.MountPoint, "parent", "pod", "cpu.cfs_quota_us"), "-1");

        pod.Apply(new CgroupLimits { MemoryBytes = 64 << 20, CpuMillicores = 500 });

        Assert.Equal("67108864", pod.Read("memory", "memory.limit_in_bytes"));
        Assert.Equal("50000", pod.Read("cpu", "cpu.cfs_quota_us"));
        Assert.Equal("0-1", File.ReadAllText(Path.Join(cpuset.MountPoint, "parent", "pod", "cpuset.cpus")));

        string saved = dir.Combine("cgroups");
        pod.Save(saved);
        CgroupSet loaded = CgroupSet.Load(saved);
        Assert.Equal(pod.Directories.Select(d => d.Path), loaded.Directories.Select(d => d.Path));
        Assert.Equal("67108864", loaded.Read("memory", "memory.limit_in_bytes"));
    }

    [Fact]
    public void ApplyV2_EnablesControllerAndWritesMax()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(ApplyV2_EnablesControllerAndWritesMax));
        var unified = new CgroupHierarchy(dir.Combine("unified"), CgroupVersion.V2, []);
        string parent = Path.Join(unified.MountPoint, "parent");
        Directory.CreateDirectory(parent);
        File.WriteAllText(Path.Join(parent, "cgroup.controllers"), "cpuset cpu io memory pids\n");
        File.WriteAllText(Path.Join(parent, "cgroup.subtree_control"), string.Empty);
        CgroupSet pod = CgroupSet.Create(new Dictionary<CgroupHierarchy, string> { [unified] = parent }, "pod");
        File.WriteAllText(Path.Join(parent, "pod", "memory.max"), "max");
        File.WriteAllText(Path.Join(parent, "pod", "cpu.max"), "max 100000");

        pod.Apply(new CgroupLimits { MemoryBytes = 1_000_000, CpuMillicores = 2000 });

        Assert.Equal("1000000", File.ReadAllText(Path.Join(parent, "pod", "memory.max")));
        Assert.Equal("200000 100000", File.ReadAllText(Path.Join(parent, "pod", "cpu.max")));
        Assert.Contains("+cpu", File.ReadAllText(Path.Join(parent, "cgroup.subtree_control")), StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_NoHierarchyWithController_Throws()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Apply_NoHierarchyWithController_Throws));
        var systemd = new CgroupHierarchy(dir.Combine("systemd"), CgroupVersion.V1, ["name=systemd"]);
        Directory.CreateDirectory(systemd.MountPoint);
        CgroupSet pod = CgroupSet.Create(new Dictionary<CgroupHierarchy, string> { [systemd] = systemd.MountPoint }, "pod");
        IOException e = Assert.Throws<IOException>(() => pod.Apply(new CgroupLimits { MemoryBytes = 1 << 20 }));
        Assert.Contains("memory controller", e.Message, StringComparison.Ordinal);
    }

    [RootFact("creates cgroups on the host's real hierarchies")]
    public void RealHost_CreateLimitAttachAndRemove()
    {
        CgroupLayout layout = CgroupLayout.Detect();
        IReadOnlyDictionary<CgroupHierarchy, string> parents = layout.Locate(File.ReadAllText("/proc/self/cgroup"));
        CgroupSet set = CgroupSet.Create(parents, $"platform-test-{Guid.NewGuid():N}");
        try
        {
            set.Apply(new CgroupLimits { MemoryBytes = 64 << 20 });
            Assert.Equal((64 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), set.Read("memory", layout.For("memory")!.Version == CgroupVersion.V1 ? "memory.limit_in_bytes" : "memory.max"));
            CgroupSet child = set.CreateChild("app");
            Assert.All(child.Directories, d => Assert.True(Directory.Exists(d.Path)));
        }
        finally
        {
            Assert.True(set.TryRemove());
        }

        Assert.All(set.Directories, d => Assert.False(Directory.Exists(d.Path)));
    }
}
