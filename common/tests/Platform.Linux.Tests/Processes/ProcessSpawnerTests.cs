using Platform.Linux.Processes;

namespace Platform.Linux.Tests.Processes;

public sealed class ProcessSpawnerTests
{
    [Fact]
    public void Spawn_ExitCodeAndSignal_AreReported()
    {
        int pid = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "exit 42"] });
        Assert.Equal(new ExitStatus(42, 0), ProcessSpawner.Wait(pid));
        int killed = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "kill -9 $$"] });
        ExitStatus status = ProcessSpawner.Wait(killed);
        Assert.Equal(9, status.Signal);
        Assert.Equal(137, status.ShellCode);
    }

    [Fact]
    public void Spawn_RedirectsStdoutAndSetsEnvironmentAndDirectory()
    {
        (int read, int write) = ProcessSpawner.CreatePipe();
        try
        {
            int pid = ProcessSpawner.Spawn(new SpawnRequest
            {
                Path = "/bin/sh",
                Arguments = ["sh", "-c", "echo $GREETING; pwd"],
                Environment = ["GREETING=hi"],
                StdoutFd = write,
                WorkingDirectory = "/tmp",
            });
            ProcessSpawner.Close(write);
            write = -1;
            var output = new MemoryStream();
            byte[] buffer = new byte[256];
            int n;
            while ((n = ProcessSpawner.Read(read, buffer)) > 0)
            {
                output.Write(buffer, 0, n);
            }

            Assert.Equal(0, ProcessSpawner.Wait(pid).Code);
            Assert.Equal("hi\n/tmp\n", System.Text.Encoding.UTF8.GetString(output.ToArray()));
        }
        finally
        {
            ProcessSpawner.Close(read);
            ProcessSpawner.Close(write);
        }
    }

    [Fact]
    public void Spawn_MissingExecutable_ThrowsWithErrno()
    {
        LinuxException e = Assert.Throws<LinuxException>(() => ProcessSpawner.Spawn(new SpawnRequest { Path = "/nonexistent/x", Arguments = ["x"] }));
        Assert.Equal(2, e.Errno);
    }

    [Fact]
    public void Capabilities_ParseAndName()
    {
        Assert.Equal(13, Capabilities.Parse("CAP_NET_RAW"));
        Assert.Equal(13, Capabilities.Parse("net_raw"));
        Assert.Equal("CAP_SYS_ADMIN", Capabilities.NameOf(21));
        Assert.Throws<FormatException>(() => Capabilities.Parse("CAP_NOPE"));
        Assert.DoesNotContain("CAP_SYS_ADMIN", Capabilities.AppDefault);
    }
}
