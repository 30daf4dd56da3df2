using Platform.Linux.Cgroups;

namespace Platform.Linux.Tests.Cgroups;

public sealed class CgroupLayoutTests
{
    private const string Hybrid = """
        25 30 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
        30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
        31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
        40 30 0:27 /sub /mnt/bound rw - cgroup cgroup rw,memory
        """;

    private const string PureV2 = """
        29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """;

    [Fact]
    public void Parse_Hybrid_FindsV1ControllersAndUnified()
    {
        CgroupLayout layout = CgroupLayout.Parse(Hybrid);
        Assert.Equal("hybrid", layout.Mode);
        Assert.Equal(4, layout.Hierarchies.Count); // the bind mount of a subdirectory is ignored
        Assert.Equal("/sys/fs/cgroup/memory", layout.For("memory")!.MountPoint);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", layout.For("cpu")!.MountPoint);
        Assert.Equal(CgroupVersion.V2, layout.For("pids")!.Version); // not in v1: falls to the unified hierarchy
        Assert.Contains(layout.Hierarchies, h => h.Key == "name=systemd");
    }

    [Fact]
    public void Parse_PureV2_And_Nothing()
    {
        Assert.Equal("v2", CgroupLayout.Parse(PureV2).Mode);
        Assert.Equal("none", CgroupLayout.Parse("1 0 8:1 / / rw - ext4 /dev/vda rw").Mode);
    }

    [Fact]
    public void Locate_MapsProcCgroupLinesToDirectories()
    {
        CgroupLayout layout = CgroupLayout.Parse(Hybrid);
        IReadOnlyDictionary<CgroupHierarchy, string> located = layout.Locate("""
            4:memory:/process_api/abc
            3:cpu,cpuacct:/
            1:name=systemd:/user.slice
            0::/user.slice/session-1.scope
            """);
        Assert.Equal("/sys/fs/cgroup/memory/process_api/abc", located[layout.For("memory")!]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", located[layout.For("cpu")!]);
        Assert.Equal("/sys/fs/cgroup/unified/user.slice/session-1.scope", located.Single(p => p.Key.Version == CgroupVersion.V2).Value);
    }
}
