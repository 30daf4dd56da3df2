using System.Globalization;

namespace Platform.Kola.Units.Tests;

/// <summary>Real /bin/sh services spawned, reaped and stopped by the manager.</summary>
public class ServiceTests
{
    private static readonly CancellationToken s_none = CancellationToken.None;

    [Fact]
    public async Task StartStopRestart_SimpleService_RunsKillsAndReplaces()
    {
        await using Harness h = Harness.Create(nameof(StartStopRestart_SimpleService_RunsKillsAndReplaces));
        Harness.Write(h.Etc, "echo.service", "[Unit]\nDescription=Echo service\n[Service]\nExecStart=/bin/sh -c 'echo hello from $MACHINE; exec sleep 1000'\n");

        await h.Manager.StartAsync("echo", s_none);
        UnitStatus status = h.Manager.GetStatus("echo.service");
        Assert.Equal(("loaded", "active", "running"), (status.LoadState, status.ActiveState, status.SubState));
        int pid = Assert.IsType<int>(status.MainPid);
        Assert.True(Harness.Alive(pid));
        await h.WaitForJournalAsync("echo.service", "hello from test");

        string file = await File.ReadAllTextAsync(h.Options.JournalPath);
        Assert.Contains($" node1 sh[{pid}]: hello from test\n", file, StringComparison.Ordinal);
        Assert.Contains(" node1 systemd[1]: Starting Echo service...\n", file, StringComparison.Ordinal);
        Assert.Contains(" node1 systemd[1]: Started Echo service.\n", file, StringComparison.Ordinal);

        await h.Manager.RestartAsync("echo.service", s_none);
        int second = Assert.IsType<int>(h.Manager.GetStatus("echo").MainPid);
        Assert.NotEqual(pid, second);
        Assert.False(Harness.Alive(pid));

        await h.Manager.StopAsync("echo", s_none);
        status = h.Manager.GetStatus("echo");
        Assert.Equal(("inactive", "dead", (int?)null, "success"), (status.ActiveState, status.SubState, status.MainPid, status.Result));
        Assert.False(Harness.Alive(second));
        Assert.Contains("Stopped Echo service.", await h.JournalAsync("echo"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oneshot_RemainAfterExit_StaysActiveExited()
    {
        await using Harness h = Harness.Create(nameof(Oneshot_RemainAfterExit_StaysActiveExited));
        string marker = h.Path("marker");
        Harness.Write(h.Etc, "setup.service", $"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'echo one >> {marker}'\nExecStart=/bin/sh -c 'echo two >> {marker}'\nExecStop=/bin/sh -c 'echo stop >> {marker}'\n");
        Harness.Write(h.Etc, "once.service", $"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo once; sleep 0.2'\n");

        await h.Manager.StartAsync("setup", s_none);
        Assert.Equal("one\ntwo\n", await File.ReadAllTextAsync(marker));
        UnitStatus status = h.Manager.GetStatus("setup");
        Assert.Equal(("active", "exited", (int?)null), (status.ActiveState, status.SubState, status.MainPid));

        await h.Manager.StopAsync("setup", s_none);
        Assert.Equal("one\ntwo\nstop\n", await File.ReadAllTextAsync(marker));
        Assert.Equal("inactive", h.Manager.GetStatus("setup").ActiveState);

        // Without RemainAfterExit the job waits for the command, then the unit is dead again.
        await h.Manager.StartAsync("once", s_none);
        Assert.Equal(("inactive", "dead", "success"), (h.Manager.GetStatus("once").ActiveState, h.Manager.GetStatus("once").SubState, h.Manager.GetStatus("once").Result));
        Assert.Contains("once", await h.JournalAsync("once"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecStartPre_Failure_FailsWithSystemdMessages()
    {
        await using Harness h = Harness.Create(nameof(ExecStartPre_Failure_FailsWithSystemdMessages));
        string marker = h.Path("marker");
        Harness.Write(h.Etc, "pre.service", $"[Service]\nExecStartPre=-/bin/false\nExecStartPre=/bin/sh -c 'echo pre >&2; exit 1'\nExecStart=/bin/sh -c 'touch {marker}; exec sleep 100'\nExecStopPost=/bin/sh -c 'echo post $SERVICE_RESULT'\n");

        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("pre", s_none));
        Assert.Equal("Job for pre.service failed because the control process exited with error code.", e.Message);
        UnitStatus status = h.Manager.GetStatus("pre");
        Assert.Equal(("failed", "failed", "exit-code"), (status.ActiveState, status.SubState, status.Result));
        Assert.False(File.Exists(marker));
        string journal = await h.JournalAsync("pre");
        Assert.Contains("pre\n", journal, StringComparison.Ordinal);
        Assert.Contains("pre.service: Control process exited, code=exited, status=1/FAILURE\n", journal, StringComparison.Ordinal);
        Assert.Contains("post exit-code\n", journal, StringComparison.Ordinal);
        Assert.Contains("pre.service: Failed with result 'exit-code'.\nFailed to start pre.service.\n", journal, StringComparison.Ordinal);

        ControlResult result = await h.Manager.SystemctlAsync(["start", "pre"], s_none);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Job for pre.service failed because the control process exited with error code.\nSee \"systemctl status pre.service\" and \"journalctl -xe\" for details.\n", result.StandardError);
        Assert.Equal((0, "failed\n"), ((await h.Manager.SystemctlAsync(["is-failed", "pre"], s_none)).ExitCode, (await h.Manager.SystemctlAsync(["is-failed", "pre"], s_none)).StandardOutput));
    }

    [Fact]
    public async Task RestartOnFailure_RestartsCountsAndHitsStartLimit()
    {
        await using Harness h = Harness.Create(nameof(RestartOnFailure_RestartsCountsAndHitsStartLimit));
        string runs = h.Path("runs");
        Harness.Write(h.Etc, "flaky.service", $"[Unit]\nStartLimitBurst=3\n[Service]\nRestart=on-failure\nRestartSec=50ms\nExecStart=/bin/sh -c 'echo run >> {runs}; exit 3'\n");

        await h.Manager.StartAsync("flaky", s_none);
        await h.WaitForJournalAsync("flaky.service", "flaky.service: Failed with result 'start-limit-hit'.");
        Assert.Equal(3, (await File.ReadAllLinesAsync(runs)).Length);
        string journal = await h.JournalAsync("flaky");
        Assert.Contains("flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED\nflaky.service: Failed with result 'exit-code'.\n", journal, StringComparison.Ordinal);
        Assert.Contains("flaky.service: Scheduled restart job, restart counter is at 1.\nStopped flaky.service.\nStarting flaky.service...\n", journal, StringComparison.Ordinal);
        Assert.Contains("restart counter is at 2.", journal, StringComparison.Ordinal);
        Assert.Contains("flaky.service: Start request repeated too quickly.", journal, StringComparison.Ordinal);
        UnitStatus status = h.Manager.GetStatus("flaky");
        Assert.Equal(("failed", "start-limit-hit"), (status.ActiveState, status.Result));
        ControlResult show = await h.Manager.SystemctlAsync(["show", "-p", "NRestarts", "--value", "flaky"], s_none);
        Assert.Equal("3\n", show.StandardOutput);
    }

    [Fact]
    public async Task Restart_Always_ComesBackAfterKill()
    {
        await using Harness h = Harness.Create(nameof(Restart_Always_ComesBackAfterKill));
        Harness.Write(h.Etc, "keep.service", "[Service]\nRestart=always\nRestartSec=0\nExecStart=/bin/sleep 1000\n");
        await h.Manager.StartAsync("keep", s_none);
        int first = h.Manager.GetStatus("keep").MainPid!.Value;
        Assert.True(Platform.Linux.Processes.ProcessSpawner.Signal(first, 9));
        await Harness.WaitForAsync(() => Task.FromResult(h.Manager.GetStatus("keep").MainPid is { } p && p != first), "a new main process");
        Assert.Equal("active", h.Manager.GetStatus("keep").ActiveState);
        Assert.Contains("keep.service: Main process exited, code=killed, status=9/KILL", await h.JournalAsync("keep"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dependencies_RequiresAfter_StartInOrderAndStopTogether()
    {
        await using Harness h = Harness.Create(nameof(Dependencies_RequiresAfter_StartInOrderAndStopTogether));
        string order = h.Path("order");
        Harness.Write(h.Lib, "db.service", $"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'sleep 0.2; echo db >> {order}'\n");
        Harness.Write(h.Lib, "app.service", $"[Unit]\nRequires=db.service\nAfter=db.service\nWants=missing.service\n[Service]\nExecStart=/bin/sh -c 'echo app >> {order}; exec sleep 1000'\n");
        Harness.Write(h.Lib, "broken.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n");
        Harness.Write(h.Lib, "needs-broken.service", "[Unit]\nRequires=broken.service\nAfter=broken.service\n[Service]\nExecStart=/bin/sleep 1000\n");
        Harness.Write(h.Lib, "needs-missing.service", "[Unit]\nRequires=missing.service\n[Service]\nExecStart=/bin/sleep 1000\n");

        await h.Manager.StartAsync("app", s_none);
        await Harness.WaitForAsync(async () => File.Exists(order) && (await File.ReadAllTextAsync(order)).Contains("app", StringComparison.Ordinal), "app to run");
        Assert.Equal("db\napp\n", await File.ReadAllTextAsync(order));
        Assert.Equal("active", h.Manager.GetStatus("db").ActiveState);

        await h.Manager.StopAsync("db", s_none);
        Assert.Equal("inactive", h.Manager.GetStatus("app").ActiveState);
        Assert.Equal("inactive", h.Manager.GetStatus("db").ActiveState);

        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("needs-broken", s_none));
        Assert.Equal("A dependency job for needs-broken.service failed. See 'journalctl -xe' for details.", e.Message);
        Assert.Contains("Dependency failed for needs-broken.service.", await h.JournalAsync("needs-broken"), StringComparison.Ordinal);
        Assert.Equal("inactive", h.Manager.GetStatus("needs-broken").ActiveState);

        e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("needs-missing", s_none));
        Assert.Equal("Failed to start needs-missing.service: Unit missing.service not found.", e.Message);
    }

    [Fact]
    public async Task DropIn_EnvironmentFileAndExecStartReset_Apply()
    {
        await using Harness h = Harness.Create(nameof(DropIn_EnvironmentFileAndExecStartReset_Apply));
        string envFile = Harness.Write(h.Root, "env", "# options\nFROM_FILE=\"file value\"\nA=from-file\n");
        Harness.Write(h.Lib, "web.service", $"[Service]\nType=oneshot\nEnvironment=A=1 \"B=two words\"\nEnvironmentFile=-{h.Path("missing")}\nExecStart=/bin/sh -c 'echo base'\n");
        Harness.Write(h.Etc, "web.service.d/10-override.conf", $"[Service]\nEnvironment=A=2\nEnvironmentFile={envFile}\nExecStart=\nExecStart=/bin/sh -c 'echo \"override A=$A B=$B F=$FROM_FILE pwd=$(pwd)\"'\nWorkingDirectory={h.Root}\n");

        await h.Manager.StartAsync("web", s_none);
        string journal = await h.JournalAsync("web");
        Assert.Contains($"override A=from-file B=two words F=file value pwd={h.Root}\n", journal, StringComparison.Ordinal);
        Assert.DoesNotContain("base", journal, StringComparison.Ordinal);

        File.Delete(envFile);
        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("web", s_none));
        Assert.Equal("Job for web.service failed because of unavailable resources or another system error.", e.Message);
        Assert.Contains("web.service: Failed to load environment files: No such file or directory", await h.JournalAsync("web"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enable_CreatesInstallLinks_AndDefaultTargetStartsThem()
    {
        await using Harness h = Harness.Create(nameof(Enable_CreatesInstallLinks_AndDefaultTargetStartsThem));
        string fragment = Harness.Write(h.Lib, "etcd2.service", "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\nAlias=etcd.service\n");
        string runtimeFragment = Harness.Write(h.RunDir, "flanneld.service", "[Unit]\nAfter=etcd2.service\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n");
        Harness.Write(h.Lib, "idle.service", "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n");

        ControlResult enable = await h.Manager.SystemctlAsync(["enable", "etcd2"], s_none);
        Assert.Equal(0, enable.ExitCode);
        string wants = h.Path("etc", "multi-user.target.wants", "etcd2.service");
        Assert.Equal(fragment, new FileInfo(wants).LinkTarget);
        Assert.Equal(fragment, new FileInfo(h.Path("etc", "etcd.service")).LinkTarget);
        Assert.Contains($"Created symlink {wants} → {fragment}.", enable.StandardError, StringComparison.Ordinal);

        await h.Manager.EnableAsync("flanneld.service", runtime: true, s_none);
        Assert.Equal(runtimeFragment, new FileInfo(System.IO.Path.Combine(h.RunDir, "multi-user.target.wants", "flanneld.service")).LinkTarget);
        Assert.Equal((0, "enabled\n"), await Pair(h.Manager.SystemctlAsync(["is-enabled", "etcd2"], s_none)));
        Assert.Equal((0, "enabled-runtime\n"), await Pair(h.Manager.SystemctlAsync(["is-enabled", "flanneld"], s_none)));
        Assert.Equal((1, "disabled\n"), await Pair(h.Manager.SystemctlAsync(["is-enabled", "idle"], s_none)));

        await h.Manager.StartDefaultTargetAsync(s_none);
        Assert.Equal("active", h.Manager.GetStatus("etcd2").ActiveState);
        Assert.Equal("active", h.Manager.GetStatus("flanneld").ActiveState);
        Assert.Equal("active", h.Manager.GetStatus("multi-user.target").ActiveState);
        Assert.Equal("inactive", h.Manager.GetStatus("idle").ActiveState);
        Assert.Equal("active", h.Manager.GetStatus("etcd.service").ActiveState);
        string journal = await File.ReadAllTextAsync(h.Options.JournalPath);
        Assert.True(journal.IndexOf("Started etcd2.service.", StringComparison.Ordinal) < journal.IndexOf("Starting flanneld.service...", StringComparison.Ordinal));

        // A wanted unit whose required unit is missing is left out; the rest of the target still starts.
        Harness.Write(h.Lib, "orphaned.service", "[Unit]\nRequires=gone.service\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n");
        Harness.Write(h.Lib, "late.service", "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=default.target\n");
        await h.Manager.EnableAsync("orphaned", runtime: false, s_none);
        await h.Manager.EnableAsync("late", runtime: false, s_none);
        await h.Manager.StartDefaultTargetAsync(s_none);
        Assert.Equal(("inactive", "active"), (h.Manager.GetStatus("orphaned").ActiveState, h.Manager.GetStatus("late").ActiveState));
        Assert.Contains("orphaned.service: Failed to enqueue start job, ignoring: Failed to start orphaned.service: Unit gone.service not found.", await h.JournalAsync("orphaned"), StringComparison.Ordinal);

        ControlResult disable = await h.Manager.SystemctlAsync(["disable", "etcd2"], s_none);
        Assert.Equal(0, disable.ExitCode);
        Assert.False(File.Exists(wants) || new FileInfo(wants).LinkTarget is not null);
    }

    [Fact]
    public async Task Mask_RefusesStart_UntilUnmasked()
    {
        await using Harness h = Harness.Create(nameof(Mask_RefusesStart_UntilUnmasked));
        Harness.Write(h.Lib, "locksmithd.service", "[Service]\nExecStart=/bin/sleep 1000\n");

        ControlResult mask = await h.Manager.SystemctlAsync(["mask", "locksmithd.service"], s_none);
        Assert.Equal(0, mask.ExitCode);
        Assert.Equal("/dev/null", new FileInfo(h.Path("etc", "locksmithd.service")).LinkTarget);
        Assert.Equal("masked", h.Manager.GetStatus("locksmithd").LoadState);
        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("locksmithd", s_none));
        Assert.Equal("Failed to start locksmithd.service: Unit locksmithd.service is masked.", e.Message);
        ControlResult start = await h.Manager.SystemctlAsync(["start", "locksmithd"], s_none);
        Assert.Equal((1, "Failed to start locksmithd.service: Unit locksmithd.service is masked.\n"), (start.ExitCode, start.StandardError));

        Assert.Equal(0, (await h.Manager.SystemctlAsync(["unmask", "locksmithd"], s_none)).ExitCode);
        await h.Manager.StartAsync("locksmithd", s_none);
        Assert.Equal("active", h.Manager.GetStatus("locksmithd").ActiveState);
    }

    [Fact]
    public async Task Stop_ServiceIgnoringSigterm_EscalatesToSigkill()
    {
        await using Harness h = Harness.Create(nameof(Stop_ServiceIgnoringSigterm_EscalatesToSigkill));
        string ready = h.Path("ready");
        Harness.Write(h.Etc, "stubborn.service", $"[Service]\nTimeoutStopSec=500ms\nExecStart=/bin/sh -c 'trap \"\" TERM; touch {ready}; while :; do sleep 1; done'\n");

        await h.Manager.StartAsync("stubborn", s_none);
        int pid = h.Manager.GetStatus("stubborn").MainPid!.Value;
        await Harness.WaitForAsync(() => Task.FromResult(File.Exists(ready)), "the trap to be set");
        await h.Manager.StopAsync("stubborn", s_none);
        Assert.False(Harness.Alive(pid));
        UnitStatus status = h.Manager.GetStatus("stubborn");
        Assert.Equal(("failed", "timeout"), (status.ActiveState, status.Result));
        string journal = await h.JournalAsync("stubborn");
        Assert.Contains("stubborn.service: State 'stop-sigterm' timed out. Killing.", journal, StringComparison.Ordinal);
        Assert.Contains($"stubborn.service: Killing process {pid.ToString(CultureInfo.InvariantCulture)} (sh) with signal SIGKILL.", journal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_WaitsForReady_AndFailsWhenExitingFirst()
    {
        await using Harness h = Harness.Create(nameof(Notify_WaitsForReady_AndFailsWhenExitingFirst));
        string marker = h.Path("notified");

        // sd_notify(3) by hand (python3 is a test prerequisite already): one datagram to $NOTIFY_SOCKET, '@' = abstract.
        string notify = Harness.Write(h.Root, "notify.py",
            "import os, socket\n" +
            "address = os.environ['NOTIFY_SOCKET']\n" +
            "address = '\\0' + address[1:] if address.startswith('@') else address\n" +
            "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'STATUS=serving\\nREADY=1', address)\n");
        Harness.Write(h.Etc, "n.service", $"[Service]\nType=notify\nExecStart=/bin/sh -c 'sleep 0.3; touch {marker}; /usr/bin/python3 {notify}; exec sleep 1000'\n");
        Harness.Write(h.Etc, "quitter.service", "[Service]\nType=notify\nExecStart=/bin/sh -c 'exit 4'\n");

        await h.Manager.StartAsync("n", s_none);
        Assert.True(File.Exists(marker));
        Assert.Equal("running", h.Manager.GetStatus("n").SubState);
        Assert.Equal("serving\n", (await h.Manager.SystemctlAsync(["show", "-p", "StatusText", "--value", "n"], s_none)).StandardOutput);
        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("quitter", s_none));
        Assert.Equal("Job for quitter.service failed because the control process exited with error code.", e.Message);
    }

    [Fact]
    public async Task Conditions_Templates_AndStdin()
    {
        await using Harness h = Harness.Create(nameof(Conditions_Templates_AndStdin));
        Harness.Write(h.Etc, "cond.service", $"[Unit]\nConditionPathExists={h.Path("absent")}\n[Service]\nExecStart=/bin/sleep 1000\n");
        Harness.Write(h.Etc, "inst@.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo instance %i of %p; cat; echo stdin-done'\n");

        await h.Manager.StartAsync("cond", s_none);
        Assert.Equal("inactive", h.Manager.GetStatus("cond").ActiveState);
        Assert.Contains("Condition check resulted in cond.service being skipped.", await h.JournalAsync("cond"), StringComparison.Ordinal);

        await h.Manager.StartAsync("inst@eth0.service", s_none);
        string journal = await h.JournalAsync("inst@eth0.service");
        Assert.Contains("instance eth0 of inst\nstdin-done\n", journal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TimeoutStartSec_Exceeded_FailsAndKills()
    {
        await using Harness h = Harness.Create(nameof(TimeoutStartSec_Exceeded_FailsAndKills));
        string pidFile = h.Path("pid");
        Harness.Write(h.Etc, "slow.service", $"[Service]\nType=oneshot\nTimeoutStartSec=300ms\nExecStart=/bin/sh -c 'echo $$$$ > {pidFile}; exec sleep 100'\n");

        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("slow", s_none));
        Assert.Equal("Job for slow.service failed because a timeout was exceeded.", e.Message);
        Assert.Equal(("failed", "timeout"), (h.Manager.GetStatus("slow").ActiveState, h.Manager.GetStatus("slow").Result));
        int pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
        Assert.False(Harness.Alive(pid));
        Assert.Contains("slow.service: Start operation timed out. Terminating.", await h.JournalAsync("slow"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_DuringActivation_CancelsTheStartJob()
    {
        await using Harness h = Harness.Create(nameof(Stop_DuringActivation_CancelsTheStartJob));
        string started = h.Path("started");
        Harness.Write(h.Etc, "wait.service", $"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'touch {started}; exec sleep 100'\n");

        Task start = h.Manager.StartAsync("wait", s_none);
        await Harness.WaitForAsync(() => Task.FromResult(File.Exists(started)), "the oneshot to run");
        await h.Manager.StopAsync("wait", s_none);
        UnitException e = await Assert.ThrowsAsync<UnitException>(() => start);
        Assert.Equal("Job for wait.service canceled.", e.Message);
        Assert.Equal("inactive", h.Manager.GetStatus("wait").ActiveState);
    }

    [Fact]
    public async Task DaemonReload_PicksUpChangedUnitFiles_OnlyWhenAsked()
    {
        await using Harness h = Harness.Create(nameof(DaemonReload_PicksUpChangedUnitFiles_OnlyWhenAsked));
        string path = Harness.Write(h.Etc, "v.service", "[Service]\nType=oneshot\nExecStart=/bin/echo version-one\n");
        await h.Manager.StartAsync("v", s_none);
        File.WriteAllText(path, "[Service]\nType=oneshot\nExecStart=/bin/echo version-two\n");
        await h.Manager.StartAsync("v", s_none);
        Assert.DoesNotContain("version-two", await h.JournalAsync("v"), StringComparison.Ordinal);

        ControlResult reload = await h.Manager.SystemctlAsync(["daemon-reload"], s_none);
        Assert.Equal(0, reload.ExitCode);
        await h.Manager.StartAsync("v", s_none);
        Assert.Contains("version-two", await h.JournalAsync("v"), StringComparison.Ordinal);
        ControlResult cat = await h.Manager.SystemctlAsync(["cat", "v"], s_none);
        Assert.Equal($"# {path}\n[Service]\nType=oneshot\nExecStart=/bin/echo version-two\n", cat.StandardOutput);
    }

    [Fact]
    public async Task Conflicts_StartingOne_StopsTheOther()
    {
        await using Harness h = Harness.Create(nameof(Conflicts_StartingOne_StopsTheOther));
        Harness.Write(h.Lib, "etcd.service", "[Service]\nExecStart=/bin/sleep 1000\n");
        Harness.Write(h.Lib, "etcd2.service", "[Unit]\nConflicts=etcd.service\n[Service]\nExecStart=/bin/sleep 1000\n");

        await h.Manager.StartAsync("etcd", s_none);
        await h.Manager.StartAsync("etcd2", s_none);
        Assert.Equal(("inactive", "active"), (h.Manager.GetStatus("etcd").ActiveState, h.Manager.GetStatus("etcd2").ActiveState));
        await h.Manager.StartAsync("etcd", s_none);
        Assert.Equal(("active", "inactive"), (h.Manager.GetStatus("etcd").ActiveState, h.Manager.GetStatus("etcd2").ActiveState));
    }

    [Fact]
    public async Task Start_CallerGivesUp_JobStillCompletes()
    {
        await using Harness h = Harness.Create(nameof(Start_CallerGivesUp_JobStillCompletes));
        string started = h.Path("started");
        Harness.Write(h.Etc, "slowish.service", $"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'touch {started}; sleep 0.3'\n");

        using var cts = new CancellationTokenSource();
        Task start = h.Manager.StartAsync("slowish", cts.Token);
        await Harness.WaitForAsync(() => Task.FromResult(File.Exists(started)), "the oneshot to run");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
        await h.WaitForStateAsync("slowish.service", "active", "exited");
    }

    [Fact]
    public async Task Start_MissingExecutableOrDirectory_FailsWithExecAndChdirSteps()
    {
        await using Harness h = Harness.Create(nameof(Start_MissingExecutableOrDirectory_FailsWithExecAndChdirSteps));
        Harness.Write(h.Etc, "ghost.service", "[Service]\nExecStart=no-such-binary --flag\n");
        Harness.Write(h.Etc, "lost.service", $"[Service]\nWorkingDirectory={h.Path("nowhere")}\nExecStart=/bin/true\n");
        Harness.Write(h.Etc, "relative.service", "[Service]\nType=oneshot\nExecStart=echo found-on-path\n");

        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("ghost", s_none));
        Assert.Equal("Job for ghost.service failed because the control process exited with error code.", e.Message);
        string journal = await h.JournalAsync("ghost");
        Assert.Contains("ghost.service: Failed to locate executable no-such-binary: No such file or directory", journal, StringComparison.Ordinal);
        Assert.Contains("ghost.service: Main process exited, code=exited, status=203/EXEC", journal, StringComparison.Ordinal);

        await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("lost", s_none));
        Assert.Contains("lost.service: Main process exited, code=exited, status=200/CHDIR", await h.JournalAsync("lost"), StringComparison.Ordinal);

        await h.Manager.StartAsync("relative", s_none);
        Assert.Contains("found-on-path", await h.JournalAsync("relative"), StringComparison.Ordinal);
    }

    private static async Task<(int, string)> Pair(Task<ControlResult> call)
    {
        ControlResult r = await call;
        return (r.ExitCode, r.StandardOutput);
    }
}
