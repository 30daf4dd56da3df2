using System.Diagnostics;
using System.Net.NetworkInformation;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Linux.Tests.Netns;

public sealed class NetworkNamespaceTests : IDisposable
{
    private readonly TestDirectory _dir = TestDirectory.Create("netns");

    public void Dispose() => _dir.Dispose();

    [RootFact("creates network namespaces")]
    public void Create_SocketInside_SeesOnlyLoopbackDown()
    {
        string path = Path.Combine(_dir.Path, "a", "ns");
        using NetworkNamespace ns = NetworkNamespace.Create(path);
        try
        {
            Assert.True(File.Exists(path));
            (string Name, OperationalStatus Status)[] inside = ns.Run(() => NetworkInterface.GetAllNetworkInterfaces().Select(n => (n.Name, n.OperationalStatus)).ToArray());

            (string name, OperationalStatus status) = Assert.Single(inside);
            Assert.Equal("lo", name);
            Assert.NotEqual(OperationalStatus.Up, status);
            Assert.NotEqual(Inode("/proc/self/ns/net"), Inode(path));
        }
        finally
        {
            NetworkNamespace.Delete(path);
        }

        Assert.False(File.Exists(path));
    }

    [RootFact("creates network namespaces")]
    public void Run_ThreadInside_HasTheNamespaceAndCurrentSeesIt()
    {
        string path = Path.Combine(_dir.Path, "ns");
        using NetworkNamespace ns = NetworkNamespace.Create(path);
        try
        {
            string inside = ns.Run(() =>
            {
                using NetworkNamespace current = NetworkNamespace.Current();
                return Inode(current.Path);
            });

            Assert.Equal(Inode(path), inside);
            Assert.NotEqual(Inode("/proc/thread-self/ns/net"), inside);
        }
        finally
        {
            NetworkNamespace.Delete(path);
        }
    }

    [RootFact("creates network namespaces")]
    public async Task RunAsync_ProcessStartedInside_InheritsTheNamespace()
    {
        string path = Path.Combine(_dir.Path, "ns");
        using NetworkNamespace ns = NetworkNamespace.Create(path);
        try
        {
            using Process child = await ns.RunAsync(() => Process.Start(new ProcessStartInfo("readlink", "/proc/self/ns/net") { RedirectStandardOutput = true })!);
            string output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();

            Assert.Equal(Inode(path), output.Trim());
        }
        finally
        {
            NetworkNamespace.Delete(path);
        }
    }

    [RootFact("creates network namespaces")]
    public void Run_Exception_IsRethrownWithItsType()
    {
        string path = Path.Combine(_dir.Path, "ns");
        using NetworkNamespace ns = NetworkNamespace.Create(path);
        try
        {
            Assert.Throws<InvalidTimeZoneException>(() => ns.Run(() => throw new InvalidTimeZoneException("x")));
        }
        finally
        {
            NetworkNamespace.Delete(path);
        }
    }

    [RootFact("creates network namespaces")]
    public void Delete_Twice_IsIdempotentAndCreateRefusesAnExistingFile()
    {
        string path = Path.Combine(_dir.Path, "ns");
        NetworkNamespace.Create(path).Dispose();
        Assert.Throws<IOException>(() => NetworkNamespace.Create(path));

        NetworkNamespace.Delete(path);
        NetworkNamespace.Delete(path);

        Assert.False(File.Exists(path));
        Assert.DoesNotContain(path, File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
    }

    [RootFact("creates network namespaces")]
    public void IsNamespaceFile_MountedNamespaceAndProcLinks_NotTheLeftoverFileOrMissingPaths()
    {
        string path = Path.Combine(_dir.Path, "probe");
        NetworkNamespace.Create(path).Dispose();
        try
        {
            Assert.True(NetworkNamespace.IsNamespaceFile(path));
            Assert.True(NetworkNamespace.IsNamespaceFile("/proc/self/ns/net"));
            Assert.True(NetworkNamespace.IsNamespaceFile("/proc/self/ns/mnt"));

            // The bind mount gone, the empty file it covered is left: not a namespace any more.
            Assert.True(Platform.Linux.Namespaces.Mounts.Unmount(path, detach: true));
            Assert.True(File.Exists(path));
            Assert.False(NetworkNamespace.IsNamespaceFile(path));
        }
        finally
        {
            NetworkNamespace.Delete(path);
        }

        Assert.False(NetworkNamespace.IsNamespaceFile(path));
        Assert.False(NetworkNamespace.IsNamespaceFile(Path.Combine(_dir.Path, "missing", "ns")));
    }

    [Fact]
    public void Open_Missing_ThrowsLinuxExceptionWithEnoent()
    {
        LinuxException e = Assert.Throws<LinuxException>(() => NetworkNamespace.Open(Path.Combine(_dir.Path, "missing")));

        Assert.Equal(2, e.Errno);
    }

    /// <summary>"net:[4026531992]" for a namespace file, as readlink shows it.</summary>
    private static string Inode(string path)
    {
        // A bind-mounted nsfs file is not a symlink; its inode number is the namespace id.
        var info = new FileInfo(path);
        return info.LinkTarget ?? $"net:[{StatInode(path)}]";
    }

    private static string StatInode(string path)
    {
        using Process stat = Process.Start(new ProcessStartInfo("stat", ["-L", "-c", "%i", path]) { RedirectStandardOutput = true })!;
        string inode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return inode;
    }
}
