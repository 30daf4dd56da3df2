using System.Net;
using System.Net.Sockets;

namespace Platform.Testing.Tests;

public class InfrastructureTests
{
    [Fact]
    public void FreePorts_Next_ReturnsDistinctBindablePortsBelowEphemeralRange()
    {
        int[] ports = FreePorts.Next(20);

        Assert.Equal(20, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 20000, 32767));
        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();
        Assert.Equal(ports[0], ((IPEndPoint)listener.LocalEndpoint).Port);
    }

    [Fact]
    public void FreePorts_ClaimedPort_IsLockedAgainstOtherProcesses()
    {
        int port = FreePorts.Next();
        string lockFile = Path.Combine(Path.GetTempPath(), "platform-test-ports", $"{port}.lock");

        // A second open with FileShare.None is what a sibling test process would attempt.
        Assert.Throws<IOException>(() => new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
    }

    [Fact]
    public void TestDirectory_Dispose_RemovesTreeIncludingReadOnlyFiles()
    {
        string path;
        using (TestDirectory dir = TestDirectory.Create("cleanup"))
        {
            path = dir.Path;
            Directory.CreateDirectory(dir.Combine("a", "b"));
            string file = dir.Combine("a", "b", "ro.txt");
            File.WriteAllText(file, "x");
            File.SetAttributes(file, FileAttributes.ReadOnly);
            Assert.True(Directory.Exists(path));
        }

        Assert.False(Directory.Exists(path));
    }

    [Fact]
    public void TestDirectory_Dispose_LeavesSymlinkTargetsOutsideAlone()
    {
        using TestDirectory outside = TestDirectory.Create("outside");
        string target = outside.Combine("keep.txt");
        File.WriteAllText(target, "x");
        File.SetAttributes(target, FileAttributes.ReadOnly);
        string path;
        using (TestDirectory dir = TestDirectory.Create("links"))
        {
            path = dir.Path;
            File.CreateSymbolicLink(dir.Combine("file-link"), target);
            Directory.CreateSymbolicLink(dir.Combine("dir-link"), outside.Path);
        }

        Assert.False(Directory.Exists(path));
        Assert.True(File.Exists(target));
        Assert.Equal(FileAttributes.ReadOnly, File.GetAttributes(target) & FileAttributes.ReadOnly);
    }

    [Fact]
    public void RootFact_SkipReason_DependsOnPrivilege()
    {
        var fact = new RootFactAttribute("creates network namespaces");

        if (Environment.IsPrivilegedProcess)
        {
            Assert.Null(fact.Skip);
        }
        else
        {
            Assert.Equal("requires root: creates network namespaces (run as root, as CI does)", fact.Skip);
        }
    }
}
