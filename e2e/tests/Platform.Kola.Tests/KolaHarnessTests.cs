using System.Text.Json;
using Platform.Kola.Harness;
using Platform.Kola.Registry;
using Platform.Testing;

namespace Platform.Kola.Tests;

public sealed class KolaHarnessTests : IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);
    private readonly TestDirectory _directory = TestDirectory.Create("kola");
    private readonly StringWriter _progress = new();

    public void Dispose() => _directory.Dispose();

    private HarnessOptions Options(int parallel = 1) => new() { OutputRoot = _directory.Path, Parallel = parallel, Progress = _progress };

    private static KolaTest Test(string name, Func<TestCluster, CancellationToken, Task> run, int size = 1, string? userData = null) =>
        new() { Name = name, Run = run, ClusterSize = size, UserData = userData };

    [Fact]
    public async Task RunAsync_WritesReportJsonTapAndMachineLogs()
    {
        var factory = new FakeFlightFactory();
        KolaTest[] tests =
        [
            Test("a.pass", async (c, ct) => Assert.Equal("ran true", await c.MustRunAsync(c.Machines[0], "true", ct)), size: 2),
            Test("b.fail", async (c, ct) => await c.MustRunAsync(c.Machines[0], "false", ct)),
            Test("c.throws", (_, _) => throw new InvalidOperationException("boom")),
        ];

        RunResult run = await KolaHarness.RunAsync(tests, factory, Options(), CancellationToken.None);

        Assert.False(run.Passed);
        Assert.Equal([TestStatus.Pass, TestStatus.Fail, TestStatus.Fail], run.Tests.Select(t => t.Status));
        Assert.Contains("m0: `false` exited with 1: no", run.Tests[1].Output, StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException: boom", run.Tests[2].Output, StringComparison.Ordinal);
        Assert.All(factory.Clusters, c => Assert.True(c.Disposed));

        using JsonDocument report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run.OutputDirectory, "report.json")));
        Assert.Equal("FAIL", report.RootElement.GetProperty("result").GetString());
        Assert.Equal("fake", report.RootElement.GetProperty("platform").GetString());
        JsonElement first = report.RootElement.GetProperty("tests")[0];
        Assert.Equal("a.pass", first.GetProperty("name").GetString());
        Assert.Equal("PASS", first.GetProperty("result").GetString());
        Assert.True(first.GetProperty("duration").GetInt64() > 0);
        Assert.True(first.GetProperty("phases").TryGetProperty("machines", out _));

        string tap = await File.ReadAllTextAsync(Path.Combine(run.OutputDirectory, "test.tap"));
        Assert.StartsWith("TAP version 13\n1..3\nok 1 - a.pass\nnot ok 2 - b.fail\n# m0$ false\n# m0: `false` exited with 1: no\nnot ok 3 - c.throws\n", tap, StringComparison.Ordinal);

        Assert.Equal("booted m1\n", await File.ReadAllTextAsync(Path.Combine(run.OutputDirectory, "a.pass", "m1", "console.txt")));
        Assert.Equal("started etcd\n", await File.ReadAllTextAsync(Path.Combine(run.OutputDirectory, "a.pass", "m0", "journal.txt")));
        Assert.Contains("--- PASS: a.pass (", _progress.ToString(), StringComparison.Ordinal);
        Assert.EndsWith($"FAIL, output in {run.OutputDirectory}\n", _progress.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_LatestSymlinkPointsAtTheNewestRun()
    {
        var factory = new FakeFlightFactory();
        KolaTest[] tests = [Test("a", (_, _) => Task.CompletedTask)];

        RunResult run = await KolaHarness.RunAsync(tests, factory, Options(), CancellationToken.None);
        RunResult again = await KolaHarness.RunAsync(tests, factory, Options(), CancellationToken.None);

        var latest = new FileInfo(Path.Combine(_directory.Path, "fake-latest"));
        Assert.Equal(Path.GetFileName(again.OutputDirectory), latest.LinkTarget);
        Assert.Equal(run.OutputDirectory, again.OutputDirectory); // same minute, same pid: the same directory
        Assert.True(File.Exists(Path.Combine(latest.FullName, "report.json")));
    }

    [Fact]
    public async Task RunAsync_PanicInAJournal_FailsAPassingTest()
    {
        var factory = new FakeFlightFactory { Journal = "etcd: started\nUnhandled exception. System.NullReferenceException: x\n   at Main()\n" };

        RunResult run = await KolaHarness.RunAsync([Test("a", (_, _) => Task.CompletedTask)], factory, Options(), CancellationToken.None);

        Assert.Equal(TestStatus.Fail, run.Tests[0].Status);
        Assert.Contains("m0 journal: .NET unhandled exception: Unhandled exception. System.NullReferenceException: x", run.Tests[0].Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TestOverItsTimeout_FailsAndStillDestroysTheCluster()
    {
        var factory = new FakeFlightFactory();
        KolaTest slow = Test("slow", (_, ct) => Task.Delay(Timeout.Infinite, ct)) with { Timeout = TimeSpan.FromMilliseconds(200) };

        RunResult run = await KolaHarness.RunAsync([slow], factory, Options(), CancellationToken.None).WaitAsync(s_deadline);

        Assert.Equal(TestStatus.Fail, run.Tests[0].Status);
        Assert.Contains("timed out after 0.2 s", run.Tests[0].Output, StringComparison.Ordinal);
        Assert.True(Assert.Single(factory.Clusters).Disposed);
    }

    [Fact]
    public async Task RunAsync_RendersDiscoveryIntoEveryMachinesUserData()
    {
        var factory = new FakeFlightFactory();
        KolaTest test = Test("etcd.discovery", (_, _) => Task.CompletedTask, size: 3,
            userData: "#cloud-config\ncoreos:\n  etcd2:\n    discovery: $discovery\n    advertise-client-urls: http://$private_ipv4:2379\n");

        await KolaHarness.RunAsync([test], factory, Options(), CancellationToken.None);

        FakeCluster cluster = Assert.Single(factory.Clusters);
        Assert.Equal([3], cluster.DiscoverySizes);
        Assert.Equal(3, cluster.Machines.Count);
        Assert.All(cluster.Machines.Cast<FakeMachine>(), m => Assert.Equal(
            "#cloud-config\ncoreos:\n  etcd2:\n    discovery: http://10.0.0.1:2379/v2/keys/_etcd/registry/etcd.discovery\n    advertise-client-urls: http://$private_ipv4:2379\n",
            m.UserData));
    }

    [Fact]
    public async Task RunAsync_ParallelTwo_RunsTwoTestsAtOnce()
    {
        var factory = new FakeFlightFactory();
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int started = 0;
        async Task Body(TestCluster c, CancellationToken ct)
        {
            if (Interlocked.Increment(ref started) == 2)
            {
                bothStarted.SetResult();
            }

            // Each test waits for the other to have started: only possible when they overlap.
            await bothStarted.Task.WaitAsync(s_deadline, ct);
        }

        RunResult run = await KolaHarness.RunAsync([Test("a", Body), Test("b", Body)], factory, Options(parallel: 2), CancellationToken.None);

        Assert.True(run.Passed, string.Join('\n', run.Tests.Select(t => t.Output)));
    }

    [Fact]
    public async Task RunAsync_UnavailablePlatform_SkipsEveryTestWithTheReason()
    {
        var factory = new FakeFlightFactory(unavailable: "needs root");

        RunResult run = await KolaHarness.RunAsync([Test("a", (_, _) => Task.CompletedTask)], factory, Options(), CancellationToken.None);

        Assert.True(run.Passed);
        Assert.Equal(TestStatus.Skip, run.Tests[0].Status);
        Assert.Empty(factory.Clusters);
        Assert.Contains("ok 1 - a # SKIP platform fake unavailable: needs root", await File.ReadAllTextAsync(Path.Combine(run.OutputDirectory, "test.tap")), StringComparison.Ordinal);
    }
}
