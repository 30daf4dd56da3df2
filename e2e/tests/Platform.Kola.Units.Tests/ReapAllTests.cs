using System.Globalization;
using System.Runtime.InteropServices;
using Platform.Linux.Processes;

namespace Platform.Kola.Units.Tests;

[CollectionDefinition(nameof(ReapAllCollection), DisableParallelization = true)]
public sealed class ReapAllCollection
{
}

/// <summary>
/// ReapAll mode as PID 1 uses it. The test host is made a child subreaper for the duration (so orphans come
/// to it, as they come to PID 1) and the collection runs alone, because a reaper that reaps every child would
/// also collect the pids of the other tests' managers.
/// </summary>
[Collection(nameof(ReapAllCollection))]
public partial class ReapAllTests
{
    private const int PrSetChildSubreaper = 36;

    [Fact]
    public async Task ReapAll_ReapsOrphansAndForeignChildren_AndDisposeStopsServices()
    {
        var foreign = new List<(int Pid, ExitStatus Status)>();
        using var dir = Platform.Testing.TestDirectory.Create(nameof(ReapAll_ReapsOrphansAndForeignChildren_AndDisposeStopsServices));
        Directory.CreateDirectory(dir.Combine("units"));
        string orphanPidFile = dir.Combine("orphan.pid");
        File.WriteAllText(dir.Combine("units", "spawner.service"), $"[Service]\nType=oneshot\nExecStart=/bin/sh -c '(sleep 0.3; exit 7) & echo $! > {orphanPidFile}; exit 0'\n");
        File.WriteAllText(dir.Combine("units", "daemon.service"), "[Service]\nExecStart=/bin/sleep 1000\n");
        var options = new UnitManagerOptions
        {
            UnitDirectories = [dir.Combine("units")],
            BaseEnvironment = [],
            JournalPath = dir.Combine("journal"),
            ForeignChildExited = (pid, status) =>
            {
                lock (foreign)
                {
                    foreign.Add((pid, status));
                }
            },
        };
        Assert.Equal(0, Prctl(PrSetChildSubreaper, 1, 0, 0, 0));
        try
        {
            IUnitManager manager = UnitManager.Create(options);
            var reaper = new Thread(manager.RunReaper) { IsBackground = true };
            reaper.Start();
            int daemon;
            try
            {
                await manager.StartAsync("spawner", CancellationToken.None);
                int orphan = int.Parse(File.ReadAllText(orphanPidFile).Trim(), CultureInfo.InvariantCulture);
                int other = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Arguments = ["sh", "-c", "exit 3"] });
                await Harness.WaitForAsync(() =>
                {
                    lock (foreign)
                    {
                        return Task.FromResult(foreign.Any(f => f.Pid == orphan) && foreign.Any(f => f.Pid == other));
                    }
                }, "the orphan and the foreign child to be reaped");
                lock (foreign)
                {
                    Assert.Equal(new ExitStatus(7, 0), foreign.Single(f => f.Pid == orphan).Status);
                    Assert.Equal(new ExitStatus(3, 0), foreign.Single(f => f.Pid == other).Status);
                }

                Assert.False(File.Exists($"/proc/{orphan}/stat"));
                await manager.StartAsync("daemon", CancellationToken.None);
                daemon = manager.GetStatus("daemon").MainPid!.Value;
                Assert.True(Harness.Alive(daemon));
            }
            finally
            {
                await manager.DisposeAsync();
            }

            Assert.True(reaper.Join(TimeSpan.FromSeconds(10)), "RunReaper returns after dispose");
            Assert.False(File.Exists($"/proc/{daemon}/stat"), "dispose stopped and reaped the daemon");
        }
        finally
        {
            Assert.Equal(0, Prctl(PrSetChildSubreaper, 0, 0, 0, 0));
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
