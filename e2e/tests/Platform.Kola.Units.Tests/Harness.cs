using Platform.Testing;

namespace Platform.Kola.Units.Tests;

/// <summary>
/// A manager over three unit directories (etc, run, lib) in a fresh test directory, with its reaper thread.
/// The test host is not PID 1 and has other children (xunit's), so the manager reaps only its own pids.
/// </summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly TestDirectory _directory;
    private readonly Thread _reaper;

    private Harness(TestDirectory directory, IUnitManager manager, UnitManagerOptions options)
    {
        _directory = directory;
        Manager = manager;
        Options = options;
        _reaper = new Thread(manager.RunReaper) { IsBackground = true, Name = "reaper" };
        _reaper.Start();
    }

    public IUnitManager Manager { get; }

    public UnitManagerOptions Options { get; }

    public string Root => _directory.Path;

    public string Etc => _directory.Combine("etc");

    public string Run => _directory.Combine("run");

    public string Lib => _directory.Combine("lib");

    public static Harness Create(string name)
    {
        var directory = TestDirectory.Create(name);
        var options = new UnitManagerOptions
        {
            UnitDirectories = [directory.Combine("etc"), directory.Combine("run", "systemd", "system"), directory.Combine("lib")],
            BaseEnvironment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "MACHINE=test"],
            JournalPath = directory.Combine("journal", "journal.log"),
            Hostname = "node1",
            ReapAll = false,
            MachineIdPath = directory.Combine("machine-id"),
        };
        foreach (string d in options.UnitDirectories)
        {
            Directory.CreateDirectory(d);
        }

        File.WriteAllText(options.MachineIdPath, "0123456789abcdef0123456789abcdef\n");
        return new Harness(directory, UnitManager.Create(options), options);
    }

    public string RunDir => Options.UnitDirectories[1];

    public string Path(params string[] parts) => _directory.Combine(parts);

    public static string Write(string directory, string name, string content)
    {
        string path = System.IO.Path.Combine(directory, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public async Task<string> JournalAsync(string unit)
    {
        ControlResult result = await Manager.JournalctlAsync(["-u", unit, "-o", "cat", "--no-pager"], CancellationToken.None);
        return result.StandardOutput;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after a generous deadline.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }

    public Task WaitForJournalAsync(string unit, string text, int seconds = 15) =>
        WaitForAsync(async () => (await JournalAsync(unit)).Contains(text, StringComparison.Ordinal), $"\"{text}\" in the journal of {unit}", seconds);

    public Task WaitForStateAsync(string unit, string active, string sub, int seconds = 15) =>
        WaitForAsync(() =>
        {
            UnitStatus s = Manager.GetStatus(unit);
            return Task.FromResult(s.ActiveState == active && s.SubState == sub);
        }, $"{unit} to be {active} ({sub})", seconds);

    public static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Manager.DisposeAsync();
            _reaper.Join(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
