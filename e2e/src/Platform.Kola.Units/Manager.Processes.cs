using System.Globalization;
using System.Runtime.InteropServices;
using Platform.Linux;
using Platform.Linux.Processes;

namespace Platform.Kola.Units;

/// <summary>
/// Children: spawned with posix_spawn (own session, stdin /dev/null, stdout+stderr into a journal pipe) and
/// reaped by <see cref="RunReaper"/>. The reaper sleeps on SIGCHLD (a PosixSignalRegistration wakes it; a
/// one-second timeout backs up a lost wake-up) and then collects with waitpid(WNOHANG): any child in
/// ReapAll mode (PID 1: orphans re-parented to us must be reaped too), or only the pids this manager
/// spawned otherwise (a test host whose other children belong to System.Diagnostics.Process). Spawning
/// and registering a pid happen under one lock that the reaper takes before looking a reaped pid up, so
/// a child that exits at once is never mistaken for a foreign one.
/// </summary>
internal sealed partial class Manager
{
    private const int WNOHANG = 1;
    private const int ECHILD = 10;
    private const int ESRCH = 3;

    private readonly object _childLock = new();
    private readonly Dictionary<int, TaskCompletionSource<ExitStatus>> _children = [];
    private readonly AutoResetEvent _wake = new(false);
    private readonly PosixSignalRegistration _sigchld;
    private volatile bool _reaperStopping;

    public void RunReaper()
    {
        while (!_reaperStopping)
        {
            ReapOnce();
            _ = _wake.WaitOne(TimeSpan.FromSeconds(1));
        }

        ReapOnce();
    }

    private void OnSigchld(PosixSignalContext context) => _wake.Set();

    private unsafe void ReapOnce()
    {
        int status;
        if (_options.ReapAll)
        {
            while (true)
            {
                int pid = WaitPid(-1, &status, WNOHANG);
                if (pid <= 0)
                {
                    break;
                }

                Dispatch(pid, ExitStatus.FromWaitStatus(status));
            }

            return;
        }

        int[] pids;
        lock (_childLock)
        {
            pids = [.. _children.Keys];
        }

        foreach (int pid in pids)
        {
            int result = WaitPid(pid, &status, WNOHANG);
            if (result == pid)
            {
                Dispatch(pid, ExitStatus.FromWaitStatus(status));
            }
            else if (result < 0 && Marshal.GetLastPInvokeError() == ECHILD)
            {
                // Someone else reaped it (should not happen): report it as lost rather than wait forever.
                Dispatch(pid, new ExitStatus(255, 0));
            }
        }
    }

    private void Dispatch(int pid, ExitStatus status)
    {
        TaskCompletionSource<ExitStatus>? waiter;
        lock (_childLock)
        {
            _children.Remove(pid, out waiter);
        }

        if (waiter is not null)
        {
            waiter.TrySetResult(status);
        }
        else
        {
            _options.ForeignChildExited?.Invoke(pid, status);
        }
    }

    /// <summary>A spawned process: its pid (0 when the spawn failed), exit and the end of its output.</summary>
    private sealed record Child(int Pid, Task<ExitStatus> Exit, Task Output, string Identifier);

    /// <summary>
    /// Spawns one command of <paramref name="unit"/>. A failure to execute (missing binary, missing working
    /// directory) is logged as systemd does and comes back as an already-ended child with status 203/EXEC or 200/CHDIR.
    /// </summary>
    private Child Spawn(UnitState unit, ExecCommand command, Dictionary<string, string> environment)
    {
        UnitDefinition d = unit.Definition;
        string executable;
        List<string> argv;
        try
        {
            (executable, argv) = command.Expand(environment);
        }
        catch (FormatException e)
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Failed to expand command line: {e.Message}");
            return Failed(203);
        }

        string? resolved = FindOnPath(executable, environment);
        if (resolved is null || !IsExecutable(resolved))
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Failed to locate executable {executable}: No such file or directory");
            _journal.Manager(unit.Name, $"{unit.Name}: Failed at step EXEC spawning {executable}: No such file or directory");
            return Failed(203);
        }

        string? cwd = d.WorkingDirectory is "~" ? "/root" : d.WorkingDirectory;
        if (cwd is not null && !Directory.Exists(cwd))
        {
            if (!d.WorkingDirectoryOptional)
            {
                _journal.Manager(unit.Name, $"{unit.Name}: Changing to the requested working directory failed: No such file or directory");
                _journal.Manager(unit.Name, $"{unit.Name}: Failed at step CHDIR spawning {resolved}: No such file or directory");
                return Failed(200);
            }

            cwd = null;
        }

        string identifier = d.SyslogIdentifier ?? Path.GetFileName(resolved);
        (int read, int write) = ProcessSpawner.CreatePipe();
        int pid;
        var exit = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            lock (_childLock)
            {
                pid = ProcessSpawner.Spawn(new SpawnRequest
                {
                    Path = resolved,
                    Arguments = argv,
                    Environment = [.. environment.Select(kv => kv.Key + "=" + kv.Value)],
                    StdinFd = (int)_devNull.DangerousGetHandle(),
                    StdoutFd = write,
                    StderrFd = write,
                    WorkingDirectory = cwd,
                    NewSession = true,
                });
                _children[pid] = exit;
            }
        }
        catch (LinuxException e)
        {
            ProcessSpawner.Close(read);
            ProcessSpawner.Close(write);
            _journal.Manager(unit.Name, $"{unit.Name}: Failed at step EXEC spawning {resolved}: {e.Message}");
            return Failed(203);
        }

        ProcessSpawner.Close(write);
        lock (_lock)
        {
            unit.Groups.Add(pid);
        }

        Task output = _journal.Collect(read, unit.Name, identifier, pid);
        _wake.Set();
        return new Child(pid, exit.Task, output, identifier);

        static Child Failed(int code) => new(0, Task.FromResult(new ExitStatus(code, 0)), Task.CompletedTask, string.Empty);
    }

    /// <summary>Sends <paramref name="signal"/> to every live process group of the unit; true if any was signalled.</summary>
    private bool SignalGroups(UnitState unit, int signal)
    {
        int[] groups;
        lock (_lock)
        {
            groups = [.. unit.Groups];
        }

        bool any = false;
        foreach (int group in groups)
        {
            if (GroupAlive(group))
            {
                any |= ProcessSpawner.Signal(-group, signal);
                if (signal != Signals.SIGKILL)
                {
                    _ = ProcessSpawner.Signal(-group, Signals.SIGCONT);
                }
            }
            else
            {
                lock (_lock)
                {
                    unit.Groups.Remove(group);
                }
            }
        }

        return any;
    }

    private bool AnyGroupAlive(UnitState unit)
    {
        int[] groups;
        lock (_lock)
        {
            groups = [.. unit.Groups];
        }

        bool any = false;
        foreach (int group in groups)
        {
            if (GroupAlive(group))
            {
                any = true;
            }
            else
            {
                lock (_lock)
                {
                    unit.Groups.Remove(group);
                }
            }
        }

        return any;
    }

    /// <summary>True while a process of group <paramref name="group"/> exists that is not a zombie.</summary>
    private static bool GroupAlive(int group)
    {
        if (Kill(-group, 0) != 0 && Marshal.GetLastPInvokeError() == ESRCH)
        {
            return false;
        }

        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            string name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
            int close = stat.LastIndexOf(')');
            string[] fields = stat[(close + 2)..].Split(' ');
            if (fields.Length > 2 && fields[0] != "Z" && fields[0] != "X" &&
                int.Parse(fields[2], CultureInfo.InvariantCulture) == group)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Waits until every process group of the unit is gone; false at the deadline.</summary>
    private static async Task<bool> WaitGroupsGoneAsync(Manager manager, UnitState unit, TimeSpan timeout)
    {
        DateTime deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (manager.AnyGroupAlive(unit))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static unsafe partial int WaitPid(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
