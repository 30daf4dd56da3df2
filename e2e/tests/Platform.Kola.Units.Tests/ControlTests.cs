using Platform.Testing;

namespace Platform.Kola.Units.Tests;

/// <summary>systemctl/journalctl through <see cref="UnitControl"/> over a real unix socket.</summary>
public class ControlTests
{
    [Fact]
    public async Task Systemctl_And_Journalctl_OverSocket_MatchSystemdExitCodes()
    {
        await using Harness h = Harness.Create(nameof(Systemctl_And_Journalctl_OverSocket_MatchSystemdExitCodes));
        Harness.Write(h.Etc, "etcd2.service", "[Unit]\nDescription=etcd2\n[Service]\nExecStart=/bin/sh -c 'echo line1; echo line2; exec sleep 1000'\n");
        string socket = h.Path("control.sock");
        await using IAsyncDisposable server = UnitControl.Serve(h.Manager, socket);
        CancellationToken none = CancellationToken.None;
        Task<ControlResult> Systemctl(params string[] args) => UnitControl.CallAsync(socket, "systemctl", args, none);

        Assert.Equal(new ControlResult(3, "inactive\n", string.Empty), await Systemctl("is-active", "etcd2"));
        ControlResult status = await Systemctl("status", "etcd2");
        Assert.Equal(3, status.ExitCode);
        Assert.Contains("Active: inactive (dead)", status.StandardOutput, StringComparison.Ordinal);

        Assert.Equal(new ControlResult(0, string.Empty, string.Empty), await Systemctl("daemon-reload"));
        Assert.Equal(new ControlResult(0, string.Empty, string.Empty), await Systemctl("start", "--job-mode=replace", "etcd2.service"));
        Assert.Equal(new ControlResult(0, "active\n", string.Empty), await Systemctl("is-active", "etcd2"));
        Assert.Equal(new ControlResult(0, string.Empty, string.Empty), await Systemctl("is-active", "-q", "etcd2"));
        await h.WaitForJournalAsync("etcd2.service", "line2");

        status = await Systemctl("status", "etcd2");
        Assert.Equal(0, status.ExitCode);
        Assert.StartsWith("● etcd2.service - etcd2\n", status.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Active: active (running) since ", status.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"Main PID: {h.Manager.GetStatus("etcd2").MainPid} (sleep)", status.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(" node1 sh[", status.StandardOutput, StringComparison.Ordinal);

        ControlResult show = await Systemctl("show", "-p", "ActiveState,SubState", "--property=LoadState", "etcd2");
        Assert.Equal("ActiveState=active\nSubState=running\nLoadState=loaded\n", show.StandardOutput);

        ControlResult list = await Systemctl("list-units", "--no-legend");
        Assert.Contains("etcd2.service loaded      active   running  etcd2", list.StandardOutput, StringComparison.Ordinal);

        // The service's lines and the manager's "Started" line come from different threads: their order varies.
        ControlResult journal = await UnitControl.CallAsync(socket, "journalctl", ["-u", "etcd2", "--no-pager", "-n", "3", "-o", "cat", "-b"], none);
        Assert.Equal(0, journal.ExitCode);
        Assert.Equal(["Started etcd2.", "line1", "line2"], journal.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        journal = await UnitControl.CallAsync(socket, "journalctl", ["-u", "etcd2.service", "--no-pager"], none);
        Assert.Matches(@"^\w{3} \d\d \d\d:\d\d:\d\d node1 systemd\[1\]: Starting etcd2\.\.\.\n", journal.StandardOutput);
        Assert.Equal("-- No entries --\n", (await UnitControl.CallAsync(socket, "journalctl", ["-u", "other"], none)).StandardOutput);

        Assert.Equal(new ControlResult(0, string.Empty, string.Empty), await Systemctl("stop", "etcd2"));
        Assert.Equal(new ControlResult(3, "inactive\n", string.Empty), await Systemctl("is-active", "etcd2"));

        Assert.Equal(new ControlResult(5, string.Empty, "Failed to start nope.service: Unit nope.service not found.\n"), await Systemctl("start", "nope"));
        Assert.Equal(new ControlResult(4, string.Empty, "Unit nope.service could not be found.\n"), await Systemctl("status", "nope"));
        Assert.Equal(new ControlResult(3, "inactive\n", string.Empty), await Systemctl("is-active", "nope"));
        Assert.Equal(1, (await Systemctl("frobnicate")).ExitCode);
        Assert.Equal(1, (await Systemctl("start", "--bogus", "x")).ExitCode);
        Assert.Equal(1, (await UnitControl.CallAsync(socket, "nosuchtool", [], none)).ExitCode);
    }

    [Fact]
    public async Task CallAsync_NoServer_ThrowsIOException()
    {
        using var dir = TestDirectory.Create(nameof(CallAsync_NoServer_ThrowsIOException));
        await Assert.ThrowsAsync<IOException>(() => UnitControl.CallAsync(dir.Combine("none.sock"), "systemctl", ["status"], CancellationToken.None));
    }
}
