using Platform.Linux.Namespaces;
using Platform.Linux.Processes;
using Platform.Testing;

namespace Platform.Linux.Tests.Namespaces;

/// <summary>The per-thread launch mechanism, checked against the kernel: the child is isolated, this process is not.</summary>
public sealed class NamespaceLauncherTests
{
    [RootFact("creates PID, UTS and mount namespaces")]
    public void SpawnInNewNamespaces_ChildIsPid1WithOwnHostname_CallerUnchanged()
    {
        string hostBefore = Environment.MachineName;
        string ownNs = new FileInfo("/proc/self/ns/pid").LinkTarget!;
        (int read, int write) = ProcessSpawner.CreatePipe();
        try
        {
            int pid = NamespaceLauncher.SpawnInNewNamespaces(
                new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "hostname isolated-child; echo $$ $(hostname)"], StdoutFd = write },
                NamespaceKinds.Pid | NamespaceKinds.Uts | NamespaceKinds.Mount | NamespaceKinds.Ipc);
            ProcessSpawner.Close(write);
            write = -1;
            Assert.Equal(0, ProcessSpawner.Wait(pid).Code);
            byte[] buffer = new byte[128];
            int n = ProcessSpawner.Read(read, buffer);
            Assert.Equal("1 isolated-child\n", System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        }
        finally
        {
            ProcessSpawner.Close(read);
            ProcessSpawner.Close(write);
        }

        Assert.Equal(hostBefore, Environment.MachineName);
        Assert.Equal(ownNs, new FileInfo("/proc/self/ns/pid").LinkTarget);
        Assert.Equal(ownNs, new FileInfo("/proc/thread-self/ns/pid").LinkTarget);
        // Threads can still be created afterwards (the PID namespace for children was restored).
        var thread = new Thread(() => { });
        thread.Start();
        thread.Join();
    }

    [RootFact("changes credentials of a dedicated thread")]
    public void SpawnFromPreparedThread_CredentialsApplyToChildOnly()
    {
        (int read, int write) = ProcessSpawner.CreatePipe();
        try
        {
            var credentials = new ThreadCredentials { Uid = 65534, Gid = 65534, RetainedCapabilities = new HashSet<int>() };
            int pid = NamespaceLauncher.SpawnFromPreparedThread(
                credentials.ApplyToCurrentThread,
                new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "echo $(id -u) $(id -g); grep CapEff /proc/self/status"], StdoutFd = write });
            ProcessSpawner.Close(write);
            write = -1;
            Assert.Equal(0, ProcessSpawner.Wait(pid).Code);
            var output = new MemoryStream();
            byte[] buffer = new byte[256];
            int n;
            while ((n = ProcessSpawner.Read(read, buffer)) > 0)
            {
                output.Write(buffer, 0, n);
            }

            Assert.Equal("65534 65534\nCapEff:\t0000000000000000\n", System.Text.Encoding.UTF8.GetString(output.ToArray()));
        }
        finally
        {
            ProcessSpawner.Close(read);
            ProcessSpawner.Close(write);
        }

        // The process itself is still root with its capabilities.
        Assert.Contains("Uid:\t0\t0\t0\t0", File.ReadAllText("/proc/self/status"), StringComparison.Ordinal);
        Assert.Equal(0, ProcessSpawner.Wait(ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "test $(id -u) = 0"] })).Code);
    }

    [Fact]
    public void MountPointsUnder_UnescapesAndOrdersDeepestFirst()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(MountPointsUnder_UnescapesAndOrdersDeepestFirst));
        string info = dir.Combine("mountinfo");
        File.WriteAllText(info, """
            1 0 8:1 / / rw - ext4 /dev/vda rw
            2 1 0:5 / /var/lib/rkt/pods/run/x rw - overlay overlay rw
            3 2 0:6 / /var/lib/rkt/pods/run/x/a\040b rw - proc proc rw
            4 1 0:7 / /var/lib/rkt/pods/run/xy rw - tmpfs tmpfs rw
            """);
        Assert.Equal(["/var/lib/rkt/pods/run/x/a b", "/var/lib/rkt/pods/run/x"], Mounts.MountPointsUnder("/var/lib/rkt/pods/run/x", info));
    }
}
