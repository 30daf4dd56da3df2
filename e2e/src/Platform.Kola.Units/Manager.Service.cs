using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Platform.Linux.Processes;

namespace Platform.Kola.Units;

/// <summary>
/// Service life cycle as systemd runs it: ExecStartPre → ExecStart (simple/exec: spawned; oneshot: run to
/// completion; notify: until READY=1) → ExecStartPost → running; the main process' exit → ExecStop →
/// remaining processes killed → ExecStopPost → dead or failed, and Restart= decides on an auto-restart.
/// A stop runs ExecStop, sends KillSignal (+SIGCONT) to every process group of the unit, escalates to
/// SIGKILL after TimeoutStopSec, then runs ExecStopPost.
/// </summary>
internal sealed partial class Manager
{
    /// <summary>Runs one unit's start job; returns its result (success, exit-code, timeout, canceled, ...).</summary>
    private async Task<string> StartOneAsync(UnitState unit, CancellationToken cancellationToken)
    {
        await unit.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (unit.ActiveState == "active" || unit.SubState == "auto-restart" && unit.Pending is null)
            {
                return "success";
            }

            if (unit.SubState == "auto-restart" && unit.Pending is { } pendingRestart)
            {
                // An explicit start during the restart delay starts now.
                try
                {
                    await pendingRestart.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                }

                unit.Pending = null;
            }

            if (unit.Definition.LoadState != "loaded")
            {
                return unit.Definition.LoadState;
            }

            switch (unit.Definition.Kind)
            {
                case UnitKind.Target:
                    SetState(unit, "active", "active");
                    unit.Result = "success";
                    _journal.Manager(unit.Name, $"Reached target {unit.Definition.DisplayName}.");
                    return "success";
                case UnitKind.Unsupported:
                    _journal.Manager(unit.Name, $"{unit.Name}: Unit type {UnitNames.Suffix(unit.Name)} is not supported by this manager, not starting.");
                    return "unsupported";
            }

            if (!ConditionsHold(unit))
            {
                _journal.Manager(unit.Name, $"Condition check resulted in {unit.Definition.DisplayName} being skipped.");
                return "success";
            }

            return await ActivateLockedAsync(unit, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            unit.Gate.Release();
        }
    }

    private static bool ConditionsHold(UnitState unit)
    {
        bool anyTrigger = false, triggerHeld = false;
        foreach (Condition c in unit.Definition.Conditions)
        {
            bool held = c.Kind switch
            {
                "ConditionPathExists" or "AssertPathExists" => Path.Exists(c.Path),
                "ConditionPathIsDirectory" => Directory.Exists(c.Path),
                "ConditionFileNotEmpty" => File.Exists(c.Path) && new FileInfo(c.Path).Length > 0,
                "ConditionDirectoryNotEmpty" => Directory.Exists(c.Path) && Directory.EnumerateFileSystemEntries(c.Path).Any(),
                "ConditionFileIsExecutable" => IsExecutable(c.Path),
                _ => true,
            } != c.Negate;
            if (c.Trigger)
            {
                anyTrigger = true;
                triggerHeld |= held;
            }
            else if (!held)
            {
                return false;
            }
        }

        return !anyTrigger || triggerHeld;
    }

    private static bool StartLimitHit(UnitState unit)
    {
        DateTime now = DateTime.UtcNow;
        UnitDefinition d = unit.Definition;
        if (d.StartLimitBurst <= 0 || d.StartLimitInterval <= TimeSpan.Zero || d.StartLimitInterval == Timeout.InfiniteTimeSpan)
        {
            return false;
        }

        unit.StartTimes.RemoveAll(t => now - t > d.StartLimitInterval);
        if (unit.StartTimes.Count >= d.StartLimitBurst)
        {
            return true;
        }

        unit.StartTimes.Add(now);
        return false;
    }

    /// <summary>The environment of the unit's processes: base, Environment=, then EnvironmentFile= (which wins).</summary>
    private Dictionary<string, string>? BuildEnvironment(UnitState unit)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string entry in _options.BaseEnvironment)
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                environment[entry[..eq]] = entry[(eq + 1)..];
            }
        }

        environment.TryAdd("PATH", DefaultPath);
        foreach (string entry in unit.Definition.Environment)
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            environment[entry[..eq]] = entry[(eq + 1)..];
        }

        foreach ((string path, bool optional) in unit.Definition.EnvironmentFiles)
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (optional)
                {
                    continue;
                }

                string reason = e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e.Message;
                _journal.Manager(unit.Name, $"{unit.Name}: Failed to load environment files: {reason}");
                _journal.Manager(unit.Name, $"{unit.Name}: Failed to run 'start-pre' task: {reason}");
                return null;
            }

            foreach (KeyValuePair<string, string> kv in EnvironmentSyntax.ParseFile(text))
            {
                environment[kv.Key] = kv.Value;
            }
        }

        return environment;
    }

    private async Task<string> ActivateLockedAsync(UnitState unit, CancellationToken cancellationToken)
    {
        UnitDefinition d = unit.Definition;
        if (StartLimitHit(unit))
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Start request repeated too quickly.");
            EnterDead(unit, "start-limit-hit", allowRestart: false);
            _journal.Manager(unit.Name, $"Failed to start {d.DisplayName}.");
            return "start-limit-hit";
        }

        unit.Result = null;
        unit.StatusText = null;
        _journal.Manager(unit.Name, $"Starting {d.DisplayName}...");
        SetState(unit, "activating", "start-pre");
        Dictionary<string, string>? environment = BuildEnvironment(unit);
        if (environment is null)
        {
            return await FailActivationAsync(unit, "resources", null).ConfigureAwait(false);
        }

        using var pending = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        unit.Pending = pending;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(pending.Token);
        TimeSpan limit = d.TimeoutStart ?? _options.DefaultTimeoutStart;
        if (limit != Timeout.InfiniteTimeSpan && limit > TimeSpan.Zero)
        {
            timeout.CancelAfter(limit);
        }

        string phase = "start-pre";
        try
        {
            foreach (ExecCommand command in d.ExecStartPre)
            {
                string? result = await RunControlAsync(unit, command, environment, timeout.Token).ConfigureAwait(false);
                if (result is not null)
                {
                    return await FailActivationAsync(unit, result, environment).ConfigureAwait(false);
                }
            }

            phase = "start";
            SetState(unit, "activating", "start");
            if (d.Type == ServiceType.Oneshot)
            {
                foreach (ExecCommand command in d.ExecStart)
                {
                    Child child = Spawn(unit, command, environment);
                    unit.MainPid = child.Pid == 0 ? null : child.Pid;
                    ExitStatus status = await child.Exit.WaitAsync(timeout.Token).ConfigureAwait(false);
                    await DrainAsync(child).ConfigureAwait(false);
                    RecordMainExit(unit, child, status);
                    unit.MainPid = null;
                    if (!IsSuccess(status) && !command.IgnoreFailure)
                    {
                        return await FailActivationAsync(unit, ResultOf(status), environment).ConfigureAwait(false);
                    }
                }
            }
            else
            {
                Socket? notify = d.Type == ServiceType.Notify ? OpenNotifySocket(unit, environment) : null;
                Task ready = notify is null ? Task.CompletedTask : ListenNotifyAsync(unit, notify);
                Child main = Spawn(unit, d.ExecStart[0], environment);
                if (main.Pid == 0)
                {
                    RecordMainExit(unit, main, await main.Exit.ConfigureAwait(false));
                    return await FailActivationAsync(unit, "exit-code", environment).ConfigureAwait(false);
                }

                unit.MainPid = main.Pid;
                unit.ExecMainPid = main.Pid;
                if (notify is not null)
                {
                    Task first = await Task.WhenAny(ready, main.Exit).WaitAsync(timeout.Token).ConfigureAwait(false);
                    if (first != ready)
                    {
                        ExitStatus status = await main.Exit.ConfigureAwait(false);
                        await DrainAsync(main).ConfigureAwait(false);
                        RecordMainExit(unit, main, status);
                        unit.MainPid = null;
                        return await FailActivationAsync(unit, IsSuccess(status) ? "protocol" : ResultOf(status), environment).ConfigureAwait(false);
                    }
                }

                WatchMain(unit, main);
            }

            phase = "start-post";
            SetState(unit, "activating", "start-post");
            foreach (ExecCommand command in d.ExecStartPost)
            {
                string? result = await RunControlAsync(unit, command, environment, timeout.Token).ConfigureAwait(false);
                if (result is not null)
                {
                    return await FailActivationAsync(unit, result, environment).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (pending.IsCancellationRequested || timeout.IsCancellationRequested)
        {
            if (pending.IsCancellationRequested)
            {
                // A stop request (or the manager's disposal) aborts the activation; the stop job cleans up.
                unit.Pending = null;
                return "canceled";
            }

            _journal.Manager(unit.Name, $"{unit.Name}: {(phase == "start" ? "Start" : phase == "start-pre" ? "start-pre" : "start-post")} operation timed out. Terminating.");
            return await FailActivationAsync(unit, "timeout", environment).ConfigureAwait(false);
        }
        finally
        {
            unit.Pending = null;
        }

        if (d.Type == ServiceType.Oneshot)
        {
            if (d.RemainAfterExit)
            {
                SetState(unit, "active", "exited");
            }
            else
            {
                await KillRemainingAsync(unit).ConfigureAwait(false);
                await RunStopPostAsync(unit, environment, "success").ConfigureAwait(false);
                SetState(unit, "inactive", "dead");
            }
        }
        else
        {
            SetState(unit, "active", "running");
        }

        unit.Result = "success";
        _journal.Manager(unit.Name, $"Started {d.DisplayName}.");
        return "success";
    }

    private async Task<string> FailActivationAsync(UnitState unit, string result, Dictionary<string, string>? environment)
    {
        SetState(unit, "deactivating", "final-sigterm");
        unit.MainPid = null;
        await KillRemainingAsync(unit).ConfigureAwait(false);
        if (environment is not null)
        {
            await RunStopPostAsync(unit, environment, result).ConfigureAwait(false);
        }

        EnterDead(unit, result, allowRestart: true);
        _journal.Manager(unit.Name, $"Failed to start {unit.Definition.DisplayName}.");
        return result;
    }

    /// <summary>Runs a control command to completion; null on success (or ignored failure), else the result.</summary>
    private async Task<string?> RunControlAsync(UnitState unit, ExecCommand command, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        Child child = Spawn(unit, command, environment);
        unit.ControlPid = child.Pid == 0 ? null : child.Pid;
        ExitStatus status;
        try
        {
            status = await child.Exit.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (child.Pid != 0)
            {
                _ = ProcessSpawner.Signal(-child.Pid, Signals.SIGKILL);
            }

            throw;
        }
        finally
        {
            unit.ControlPid = null;
        }

        await DrainAsync(child).ConfigureAwait(false);
        if (IsCleanExit(status) && status.Signal == 0 || command.IgnoreFailure)
        {
            return null;
        }

        _journal.Manager(unit.Name, $"{unit.Name}: Control process exited, {Describe(status)}");
        return ResultOf(status);
    }

    private static async Task DrainAsync(Child child)
    {
        try
        {
            // A background grandchild may hold the pipe open; do not wait for it long.
            await child.Output.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private void RecordMainExit(UnitState unit, Child child, ExitStatus status)
    {
        unit.ExecMainStatus = status;
        if (!IsSuccess(status))
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Main process exited, {Describe(status)}");
        }
    }

    private void WatchMain(UnitState unit, Child main) => _ = Task.Run(async () =>
    {
        ExitStatus status = await main.Exit.ConfigureAwait(false);
        await DrainAsync(main).ConfigureAwait(false);
        await unit.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (unit.MainPid != main.Pid)
            {
                return;
            }

            await OnMainExitedLockedAsync(unit, main, status).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            _journal.Manager(unit.Name, $"{unit.Name}: {e.Message}");
        }
        finally
        {
            unit.Gate.Release();
        }
    });

    private async Task OnMainExitedLockedAsync(UnitState unit, Child main, ExitStatus status)
    {
        RecordMainExit(unit, main, status);
        unit.MainPid = null;
        string result = IsCleanExit(status) ? "success" : ResultOf(status);
        if (result == "success" && unit.Definition.RemainAfterExit)
        {
            SetState(unit, "active", "exited");
            return;
        }

        Dictionary<string, string> environment = BuildEnvironment(unit) ?? new(StringComparer.Ordinal);
        SetState(unit, "deactivating", "stop");
        TimeSpan timeout = unit.Definition.TimeoutStop ?? _options.DefaultTimeoutStop;
        foreach (ExecCommand command in unit.Definition.ExecStop)
        {
            using var cts = new CancellationTokenSource(timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout);
            try
            {
                _ = await RunControlAsync(unit, command, environment, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _journal.Manager(unit.Name, $"{unit.Name}: Stopping timed out. Terminating.");
            }
        }

        await KillRemainingAsync(unit).ConfigureAwait(false);
        await RunStopPostAsync(unit, environment, result).ConfigureAwait(false);
        CloseNotify(unit);
        EnterDead(unit, result, allowRestart: true);
    }

    /// <summary>Dead or failed, logs the failure, and schedules an auto-restart when Restart= says so.</summary>
    private void EnterDead(UnitState unit, string result, bool allowRestart)
    {
        unit.MainPid = null;
        unit.Result = result;
        CloseNotify(unit);
        if (result == "success")
        {
            SetState(unit, "inactive", "dead");
        }
        else
        {
            SetState(unit, "failed", "failed");
            _journal.Manager(unit.Name, $"{unit.Name}: Failed with result '{result}'.");
        }

        bool clean = result == "success";
        bool restart = allowRestart && !_disposing.IsCancellationRequested && result != "start-limit-hit" && unit.Definition.Restart switch
        {
            RestartPolicy.Always => true,
            RestartPolicy.OnSuccess => clean,
            RestartPolicy.OnFailure => !clean,
            RestartPolicy.OnAbnormal => result is "signal" or "core-dump" or "timeout",
            RestartPolicy.OnAbort => result is "signal" or "core-dump",
            _ => false,
        };
        if (!restart)
        {
            return;
        }

        SetState(unit, "activating", "auto-restart");
        var pending = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        unit.Pending = pending;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(unit.Definition.RestartSec, pending.Token).ConfigureAwait(false);
                await unit.Gate.WaitAsync(pending.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (unit.SubState != "auto-restart" || unit.Pending != pending)
                {
                    return;
                }

                unit.Pending = null;
                unit.RestartCount++;
                _journal.Manager(unit.Name, $"{unit.Name}: Scheduled restart job, restart counter is at {unit.RestartCount.ToString(CultureInfo.InvariantCulture)}.");
                _journal.Manager(unit.Name, $"Stopped {unit.Definition.DisplayName}.");
                SetState(unit, "inactive", "dead");
                _ = await ActivateLockedAsync(unit, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                pending.Dispose();
                unit.Gate.Release();
            }
        });
    }

    private async Task StopOneAsync(UnitState unit)
    {
        // Abort an activation in flight or a pending auto-restart, so the gate frees up; again while waiting,
        // in case an activation got the gate and set up its cancellation just after the first look.
        do
        {
            if (unit.Pending is { } pending)
            {
                try
                {
                    await pending.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
        while (!await unit.Gate.WaitAsync(TimeSpan.FromMilliseconds(50)).ConfigureAwait(false));
        try
        {
            UnitDefinition d = unit.Definition;
            if (unit.SubState == "auto-restart")
            {
                unit.Pending = null;
                SetState(unit, "inactive", "dead");
                _journal.Manager(unit.Name, $"Stopped {d.DisplayName}.");
                return;
            }

            if (unit.ActiveState is "inactive" or "failed" && !AnyGroupAlive(unit))
            {
                return;
            }

            if (d.Kind == UnitKind.Target)
            {
                SetState(unit, "inactive", "dead");
                _journal.Manager(unit.Name, $"Stopped target {d.DisplayName}.");
                return;
            }

            _journal.Manager(unit.Name, $"Stopping {d.DisplayName}...");
            SetState(unit, "deactivating", "stop");
            Dictionary<string, string> environment = BuildEnvironment(unit) ?? new(StringComparer.Ordinal);
            TimeSpan timeout = d.TimeoutStop ?? _options.DefaultTimeoutStop;
            if (unit.MainPid is { } mainPid)
            {
                environment["MAINPID"] = mainPid.ToString(CultureInfo.InvariantCulture);
            }

            foreach (ExecCommand command in d.ExecStop)
            {
                using var cts = new CancellationTokenSource(timeout);
                try
                {
                    _ = await RunControlAsync(unit, command, environment, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _journal.Manager(unit.Name, $"{unit.Name}: Stopping timed out. Terminating.");
                }
            }

            environment.Remove("MAINPID");
            int? main = unit.MainPid;
            unit.MainPid = null;
            bool timedOut = !await KillRemainingAsync(unit).ConfigureAwait(false);
            if (main is not null)
            {
                unit.ExecMainStatus = null;
            }

            string result = timedOut ? "timeout" : "success";
            await RunStopPostAsync(unit, environment, result).ConfigureAwait(false);
            CloseNotify(unit);
            unit.Result = result;
            if (timedOut)
            {
                SetState(unit, "failed", "failed");
                _journal.Manager(unit.Name, $"{unit.Name}: Failed with result 'timeout'.");
            }
            else
            {
                SetState(unit, "inactive", "dead");
            }

            _journal.Manager(unit.Name, $"Stopped {d.DisplayName}.");
        }
        finally
        {
            unit.Gate.Release();
        }
    }

    /// <summary>KillSignal to every process group of the unit, SIGKILL after TimeoutStopSec; false when SIGKILL was needed.</summary>
    private async Task<bool> KillRemainingAsync(UnitState unit)
    {
        if (!SignalGroups(unit, unit.Definition.KillSignal))
        {
            return true;
        }

        TimeSpan timeout = unit.Definition.TimeoutStop ?? _options.DefaultTimeoutStop;
        if (await WaitGroupsGoneAsync(this, unit, timeout).ConfigureAwait(false))
        {
            return true;
        }

        _journal.Manager(unit.Name, $"{unit.Name}: State 'stop-sigterm' timed out. Killing.");
        int[] groups;
        lock (_lock)
        {
            groups = [.. unit.Groups];
        }

        foreach (int group in groups)
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Killing process {group.ToString(CultureInfo.InvariantCulture)} ({ProcessName(group)}) with signal SIGKILL.");
        }

        _ = SignalGroups(unit, Signals.SIGKILL);
        _ = await WaitGroupsGoneAsync(this, unit, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return false;
    }

    private async Task RunStopPostAsync(UnitState unit, Dictionary<string, string> environment, string result)
    {
        if (unit.Definition.ExecStopPost.Count == 0)
        {
            return;
        }

        var env = new Dictionary<string, string>(environment, StringComparer.Ordinal) { ["SERVICE_RESULT"] = result };
        if (unit.ExecMainStatus is { } status)
        {
            env["EXIT_CODE"] = status.Signal != 0 ? "killed" : "exited";
            env["EXIT_STATUS"] = status.Signal != 0 ? Signals.Name(status.Signal) : status.Code.ToString(CultureInfo.InvariantCulture);
        }

        TimeSpan timeout = unit.Definition.TimeoutStop ?? _options.DefaultTimeoutStop;
        foreach (ExecCommand command in unit.Definition.ExecStopPost)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                _ = await RunControlAsync(unit, command, env, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _journal.Manager(unit.Name, $"{unit.Name}: stop-post operation timed out. Terminating.");
            }
        }
    }

    private Socket OpenNotifySocket(UnitState unit, Dictionary<string, string> environment)
    {
        CloseNotify(unit);
        string name = $"{_notifyPrefix}/{unit.Name}";
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        unit.NotifySocket = socket;
        environment["NOTIFY_SOCKET"] = "@" + name;
        return socket;
    }

    /// <summary>Reads sd_notify datagrams; the task completes at the first READY=1. STATUS= is kept for status.</summary>
    private static Task ListenNotifyAsync(UnitState unit, Socket socket)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            byte[] buffer = new byte[4096];
            while (true)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }

                foreach (string line in Encoding.UTF8.GetString(buffer, 0, n).Split('\n'))
                {
                    if (line == "READY=1")
                    {
                        ready.TrySetResult();
                    }
                    else if (line.StartsWith("STATUS=", StringComparison.Ordinal))
                    {
                        unit.StatusText = line[7..];
                    }
                }
            }
        });
        return ready.Task;
    }

    private static void CloseNotify(UnitState unit)
    {
        unit.NotifySocket?.Dispose();
        unit.NotifySocket = null;
    }

    /// <summary>Exit 0, or death by SIGHUP/SIGINT/SIGTERM/SIGPIPE: what systemd counts as a clean exit of a service.</summary>
    private static bool IsCleanExit(ExitStatus status) =>
        status.Signal == 0 ? status.Code == 0 : status.Signal is Signals.SIGHUP or Signals.SIGINT or Signals.SIGTERM or Signals.SIGPIPE;

    private static bool IsSuccess(ExitStatus status) => status.Signal == 0 && status.Code == 0;

    private static string ResultOf(ExitStatus status) => status.Signal != 0 ? "signal" : "exit-code";

    /// <summary>systemd's wording: <c>code=exited, status=1/FAILURE</c>, <c>code=killed, status=9/KILL</c>.</summary>
    internal static string Describe(ExitStatus status)
    {
        if (status.Signal != 0)
        {
            return $"code=killed, status={status.Signal.ToString(CultureInfo.InvariantCulture)}/{Signals.Name(status.Signal)}";
        }

        string name = status.Code switch
        {
            0 => "/SUCCESS",
            1 => "/FAILURE",
            2 => "/INVALIDARGUMENT",
            3 => "/NOTIMPLEMENTED",
            4 => "/NOPERMISSION",
            5 => "/NOTINSTALLED",
            6 => "/NOTCONFIGURED",
            7 => "/NOTRUNNING",
            200 => "/CHDIR",
            203 => "/EXEC",
            _ => string.Empty,
        };
        return $"code=exited, status={status.Code.ToString(CultureInfo.InvariantCulture)}{name}";
    }

    private static string ProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
