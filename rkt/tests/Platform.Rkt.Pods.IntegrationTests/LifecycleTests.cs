using System.Diagnostics;
using System.Text.Json;
using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary>Pod lifecycle across rkt processes: prepare, run-prepared, list/status, stop, enter, gc, crashes.</summary>
public sealed class LifecycleTests
{
    private const string Why = "runs pods in new namespaces, mounts and cgroups";

    [RootFact(Why)]
    public void PrepareThenRunPrepared_MovesThroughStates()
    {
        using var host = new PodTestHost(nameof(PrepareThenRunPrepared_MovesThroughStates));
        string uuid = host.RktOk("prepare", "--net=none", host.Aci, "--exec=/bin/echo", "--", "prepared-run").Trim();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", uuid);
        using (JsonDocument list = JsonDocument.Parse(host.RktOk("list", "--format=json")))
        {
            JsonElement pod = list.RootElement.EnumerateArray().Single();
            Assert.Equal(uuid, pod.GetProperty("name").GetString());
            Assert.Equal("prepared", pod.GetProperty("state").GetString());
            Assert.Equal("busybox", pod.GetProperty("app_names")[0].GetString());
        }

        Assert.Contains("\"acKind\": \"PodManifest\"", host.RktOk("cat-manifest", uuid), StringComparison.Ordinal);
        var run = host.Rkt("run-prepared", uuid);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("prepared-run\n", run.Stdout);
        Assert.NotEqual(0, host.Rkt("run-prepared", uuid).ExitCode); // not prepared any more
        using JsonDocument status = JsonDocument.Parse(host.RktOk("status", "--format=json", uuid));
        Assert.Equal("exited", status.RootElement.GetProperty("state").GetString());
        Assert.Equal(0, status.RootElement.GetProperty("apps")[0].GetProperty("exit_code").GetInt32());
        Assert.Contains(uuid[..8], host.RktOk("list"), StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public void StopGraceful_AppGetsSigtermAndStatusWaitReturns()
    {
        using var host = new PodTestHost(nameof(StopGraceful_AppGetsSigtermAndStatusWaitReturns));
        (Process run, string uuid) = host.StartRun("--net=none", host.Aci, "--exec=/bin/sleep", "--", "600");
        using (run)
        {
            host.WaitRunning(uuid, run);
            Assert.Contains("state=running", host.RktOk("status", "--wait-ready=30s", uuid), StringComparison.Ordinal);
            Assert.Equal(uuid + "\n", host.RktOk("stop", uuid));
            string status = host.RktOk("status", "--wait=60s", uuid);
            Assert.Contains("app-busybox=143", status, StringComparison.Ordinal);
            Assert.True(run.WaitForExit(60_000));
            Assert.Equal(143, run.ExitCode);
        }
    }

    [RootFact(Why)]
    public void StopForce_KillsAppThatIgnoresSigterm()
    {
        using var host = new PodTestHost(nameof(StopForce_KillsAppThatIgnoresSigterm));
        (Process run, string uuid) = host.StartRun("--net=none", host.Aci, "--exec=/bin/sh", "--", "-c", "trap '' TERM; while true; do sleep 1; done");
        using (run)
        {
            host.WaitRunning(uuid, run);
            host.RktOk("stop", uuid);
            Assert.False(run.WaitForExit(500)); // TERM is ignored by the app
            host.RktOk("stop", "--force", uuid);
            Assert.True(run.WaitForExit(60_000));
            Assert.Contains("state=exited", host.RktOk("status", "--wait=60s", uuid), StringComparison.Ordinal);
        }
    }

    [RootFact(Why)]
    public void Enter_RunsCommandInsideRunningPod()
    {
        using var host = new PodTestHost(nameof(Enter_RunsCommandInsideRunningPod));
        (Process run, string uuid) = host.StartRun("--net=none", "--hostname=enterme", host.Aci, "--exec=/bin/sleep", "--", "600");
        using (run)
        {
            host.WaitRunning(uuid, run);
            var entered = host.Rkt("enter", uuid, "/bin/sh", "-c", "hostname; ps -o comm | grep -c sleep; ls /bin/busybox; exit 5");
            Assert.Equal(5, entered.ExitCode);
            Assert.Equal("enterme\n1\n/bin/busybox\n", entered.Stdout);
            host.RktOk("stop", "--force", uuid);
            Assert.True(run.WaitForExit(60_000));
        }
    }

    [RootFact(Why)]
    public void Gc_GraceZero_RemovesPodMountsAndCgroups()
    {
        using var host = new PodTestHost(nameof(Gc_GraceZero_RemovesPodMountsAndCgroups));
        string uuidFile = host.Combine("uuid");
        host.RktOk("run", "--net=none", $"--uuid-file-save={uuidFile}", host.Aci, "--memory=64M", "--exec=/bin/true");
        string uuid = File.ReadAllText(uuidFile);
        string[] cgroups = File.ReadAllLines(Path.Combine(host.PodDir(uuid), "cgroups")).Select(l => l.Split(' ')[3]).ToArray();
        Assert.All(cgroups, c => Assert.True(Directory.Exists(c)));

        string marked = host.RktOk("gc", "--mark-only");
        Assert.Contains($"Moving pod \"{uuid}\" to garbage", marked, StringComparison.Ordinal);
        Assert.Contains("exited garbage", host.RktOk("list"), StringComparison.Ordinal);
        string collected = host.RktOk("gc", "--grace-period=0s");
        Assert.Contains($"Garbage collecting pod \"{uuid}\"", collected, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.Combine(host.DataDir, "pods"), "*", SearchOption.AllDirectories), d => d.EndsWith(uuid, StringComparison.Ordinal));
        Assert.All(cgroups, c => Assert.False(Directory.Exists(c)));
        Assert.Empty(Platform.Linux.Namespaces.Mounts.MountPointsUnder(host.DataDir));
    }

    [RootFact(Why)]
    public void KillStage0_PodEndsAndGcCleansIt()
    {
        using var host = new PodTestHost(nameof(KillStage0_PodEndsAndGcCleansIt));
        (Process run, string uuid) = host.StartRun("--net=none", host.Aci, "--exec=/bin/sleep", "--", "600");
        using (run)
        {
            host.WaitRunning(uuid, run);
            int stage1 = int.Parse(File.ReadAllText(Path.Combine(host.PodDir(uuid), "pid")), System.Globalization.CultureInfo.InvariantCulture);
            run.Kill(); // SIGKILL of stage0
            Assert.True(run.WaitForExit(60_000));
            Assert.Contains("state=exited", host.RktOk("status", "--wait=60s", uuid), StringComparison.Ordinal);
            PodTestHost.Poll(() => Directory.Exists($"/proc/{stage1}") ? null : "gone", "stage1 to be gone");
            host.RktOk("gc", "--grace-period=0s");
            Assert.DoesNotContain(uuid[..8], host.RktOk("list"), StringComparison.Ordinal);
        }
    }

    [RootFact(Why)]
    public void ConcurrentGcAndRun_NeverCorruptPods()
    {
        using var host = new PodTestHost(nameof(ConcurrentGcAndRun_NeverCorruptPods));
        host.RktOk("fetch", host.Aci);
        using var stop = new CancellationTokenSource();
        var gcLoop = Task.Run(() =>
        {
            int passes = 0;
            while (!stop.IsCancellationRequested)
            {
                var gc = host.Rkt("gc", "--grace-period=0s");
                Assert.True(gc.ExitCode == 0, gc.Stdout + gc.Stderr);
                passes++;
            }

            return passes;
        });
        var runs = Enumerable.Range(0, 4).Select(i => Task.Run(() => host.Rkt("run", "--net=none", host.Aci, "--exec=/bin/sh", "--", "-c", $"echo run-{i}"))).ToArray();
        Task.WaitAll(runs);
        stop.Cancel();
        Assert.True(gcLoop.Result > 0);
        for (int i = 0; i < runs.Length; i++)
        {
            Assert.True(runs[i].Result.ExitCode == 0, runs[i].Result.Stderr);
            Assert.Equal($"run-{i}\n", runs[i].Result.Stdout);
        }

        host.RktOk("gc", "--grace-period=0s");
        Assert.Equal(string.Empty, host.RktOk("list", "--no-legend"));
    }
}
