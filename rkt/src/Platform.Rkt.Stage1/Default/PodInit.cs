using System.Globalization;
using System.Runtime.InteropServices;
using Platform.Linux.Cgroups;
using Platform.Linux.Namespaces;
using Platform.Linux.Processes;

namespace Platform.Rkt.Stage1.Default;

/// <summary>
/// The default stage1's PID 1, run as <c>rkt __stage1 POD_DIR</c> in the pod's fresh mount, UTS, IPC, PID
/// and (unless <c>--net=host</c>) network namespaces. It builds every app's root filesystem, starts each
/// app from a dedicated thread (cgroup, own mount namespace + pivot_root, working directory, credentials,
/// capabilities, no_new_privs — all per task, inherited by the spawned child), then reaps every process of
/// the pod, records each app's exit status in <c>stage1/rootfs/rkt/status/$app</c>, forwards SIGTERM,
/// SIGINT and SIGHUP to the apps, stops the other apps when one fails (rkt's reaper), and exits when all
/// apps have exited with the first failing app's status, or 0.
/// </summary>
/// <remarks>
/// It never uses <see cref="System.Diagnostics.Process"/>: as PID 1 it is the only one that reaps.
/// Stage0 holds the write end of the lifeline pipe (<c>RKT_LIFELINE_FD</c>): one byte means "cgroups are
/// set, start the apps"; end of file before or after means stage0 died, and the pod is killed so that
/// <c>rkt gc</c> can collect it.
/// </remarks>
internal static partial class PodInit
{
    private static readonly Lock s_appsLock = new();
    private static readonly Dictionary<int, string> s_running = [];
    private static volatile bool s_stopping;

    public static int Main(string pod)
    {
        try
        {
            return Run(pod);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Platform.Linux.LinuxException or InvalidDataException or ArgumentException)
        {
            Console.Error.WriteLine($"stage1: {e.Message}");
            KillAll(9);
            return 254;
        }
    }

    private static int Run(string pod)
    {
        Stage1Plan plan = Stage1Plan.Parse(File.ReadAllBytes(PodLayout.Stage1Plan(pod)));
        int lifeline = int.Parse(Environment.GetEnvironmentVariable("RKT_LIFELINE_FD") ?? "-1", CultureInfo.InvariantCulture);

        Mounts.MakePrivate("/");
        Mounts.SetHostname(plan.Hostname);
        if (plan.Network != "host")
        {
            Loopback.Up();
        }

        var roots = new Dictionary<string, string>();
        foreach (Stage1App app in plan.Apps)
        {
            roots[app.Name] = AppFilesystem.Setup(pod, plan, app, freshKernelFilesystems: true);
        }

        Directory.CreateDirectory(PodLayout.AppStatusDirectory(pod));
        Directory.CreateDirectory(Path.Join(pod, "logs"));

        // Wait for stage0's go (it has moved us into the pod cgroup), or its death.
        if (lifeline >= 0)
        {
            byte[] go = new byte[1];
            if (ProcessSpawner.Read(lifeline, go) == 0)
            {
                return 254;
            }

            var watcher = new Thread(() => WatchLifeline(lifeline)) { IsBackground = true, Name = "lifeline" };
            watcher.UnsafeStart();
        }

        CgroupSet? podCgroup = File.Exists(PodLayout.Cgroups(pod)) ? CgroupSet.Load(PodLayout.Cgroups(pod)) : null;
        using var signals = new SignalForwarding();
        var pumps = new List<LogPump>();
        var logLock = new Lock();
        var logs = new List<FileStream>();
        int devNull = Sys.OpenDevNull();
        try
        {
            foreach (Stage1App app in plan.Apps)
            {
                if (s_stopping)
                {
                    break;
                }

                // A child cgroup only for an app with limits: each move of a task into a cgroup waits for
                // an RCU grace period in the kernel (cgroup_threadgroup_rwsem; 10-30 ms on this machine,
                // during which no process on the host can fork), so an app without limits stays in the
                // pod cgroup stage0 put us in, and its children inherit it at spawn for free.
                CgroupSet? appCgroup = app.MemoryBytes is not null || app.CpuMillicores is not null ? podCgroup?.CreateChild(app.Name) : null;
                appCgroup?.Apply(new CgroupLimits { MemoryBytes = app.MemoryBytes, CpuMillicores = app.CpuMillicores });

                int stdin = 0, stdout = 1, stderr = 2;
                (int Read, int Write) outPipe = default, errPipe = default;
                if (!plan.Interactive)
                {
                    var log = new FileStream(PodLayout.AppLog(pod, app.Name), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                    logs.Add(log);
                    outPipe = ProcessSpawner.CreatePipe();
                    errPipe = ProcessSpawner.CreatePipe();
                    stdin = devNull;
                    stdout = outPipe.Write;
                    stderr = errPipe.Write;
                    pumps.Add(new LogPump(outPipe.Read, 1, log, logLock));
                    pumps.Add(new LogPump(errPipe.Read, 2, log, logLock));
                }

                var credentials = new ThreadCredentials
                {
                    Uid = app.Uid,
                    Gid = app.Gid,
                    SupplementaryGids = app.SupplementaryGids,
                    RetainedCapabilities = app.Capabilities.ToHashSet(),
                    NoNewPrivileges = app.NoNewPrivileges,
                };
                string root = roots[app.Name];
                var request = new SpawnRequest
                {
                    Path = app.Exec[0],
                    Arguments = app.Exec,
                    Environment = app.Environment,
                    StdinFd = stdin,
                    StdoutFd = stdout,
                    StderrFd = stderr,
                    NewSession = !plan.Interactive,
                };

                int pid;
                lock (s_appsLock)
                {
                    // Under the lock, where stopping is decided too: either this app is spawned before
                    // a stop's kill (which then reaches it) or the stop is seen here and it never starts.
                    if (s_stopping)
                    {
                        if (!plan.Interactive)
                        {
                            ProcessSpawner.Close(outPipe.Write);
                            ProcessSpawner.Close(errPipe.Write);
                        }

                        break;
                    }

                    // Under the lock: the reaper must not see this pid exit before it is known.
                    pid = NamespaceLauncher.SpawnFromPreparedThread(
                        () =>
                        {
                            appCgroup?.AddThreadV1(ProcessSpawner.CurrentThreadId);
                            NamespaceLauncher.UnshareThreadMountNamespace();
                            Mounts.PivotRoot(root);
                            Mounts.ChangeDirectory(app.WorkingDirectory);
                            credentials.ApplyToCurrentThread();
                        },
                        request);
                    s_running[pid] = app.Name;
                }

                appCgroup?.AddProcessV2(pid);
                if (!plan.Interactive)
                {
                    ProcessSpawner.Close(outPipe.Write);
                    ProcessSpawner.Close(errPipe.Write);
                }
            }
        }
        catch (Exception e) when (e is IOException or Platform.Linux.LinuxException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"stage1: cannot start app: {e.Message}");
            s_stopping = true;
            KillApps(15);
            _ = Reap(pod);
            KillAll(9);
            JoinAll(pumps, logs);
            return 254;
        }

        // Written once every app has been spawned: `started` is what "the pod is running its apps" means
        // to status readers, tests and the api-service.
        File.WriteAllText(PodLayout.Started(pod), DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        int exit = Reap(pod);
        KillAll(9); // Daemons the apps left behind do not outlive the pod.
        JoinAll(pumps, logs);
        return exit;
    }

    /// <summary>Reaps children until no app is left; returns the pod's exit code.</summary>
    private static int Reap(string pod)
    {
        int? firstFailure = null;
        while (true)
        {
            lock (s_appsLock)
            {
                if (s_running.Count == 0)
                {
                    return firstFailure ?? 0;
                }
            }

            (int Pid, ExitStatus Status)? reaped = ProcessSpawner.WaitAny();
            if (reaped is null)
            {
                return firstFailure ?? 254;
            }

            string? app;
            lock (s_appsLock)
            {
                if (s_running.Remove(reaped.Value.Pid, out app))
                {
                    int code = reaped.Value.Status.ShellCode;
                    WriteStatus(pod, app, code);
                    if (code != 0 && firstFailure is null)
                    {
                        // rkt's reaper: a failing app stops the pod with its status.
                        firstFailure = code;
                        s_stopping = true;
                        KillApps(15);
                    }
                }
            }
        }
    }

    private static void WriteStatus(string pod, string app, int code)
    {
        string path = PodLayout.AppStatus(pod, app);
        string temp = path + ".tmp";
        File.WriteAllText(temp, code.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, path, overwrite: true);
    }

    private static void JoinAll(List<LogPump> pumps, List<FileStream> logs)
    {
        foreach (LogPump pump in pumps)
        {
            pump.Join();
        }

        foreach (FileStream log in logs)
        {
            log.Dispose();
        }
    }

    private static void WatchLifeline(int fd)
    {
        byte[] buffer = new byte[64];
        while (ProcessSpawner.Read(fd, buffer) > 0)
        {
        }

        // stage0 is gone: end the pod. Under the apps lock, so no app is being spawned meanwhile
        // (one spawned after this kill would outlive it; see the spawn loop).
        lock (s_appsLock)
        {
            s_stopping = true;
            KillAll(9);
        }
    }

    private static void KillApps(int signal)
    {
        lock (s_appsLock)
        {
            foreach (int pid in s_running.Keys)
            {
                _ = ProcessSpawner.Signal(pid, signal);
            }
        }
    }

    /// <summary>kill(-1): every process of the pod's PID namespace except this init.</summary>
    private static void KillAll(int signal) => _ = Sys.KillAll(signal);

    /// <summary>Forwards termination signals to the apps (PID 1 gets no default action for them).</summary>
    private sealed class SignalForwarding : IDisposable
    {
        private readonly PosixSignalRegistration[] _registrations;

        public SignalForwarding()
        {
            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward),
                PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, Forward),
            ];
        }

        public void Dispose()
        {
            foreach (PosixSignalRegistration r in _registrations)
            {
                r.Dispose();
            }
        }

        private static void Forward(PosixSignalContext context)
        {
            context.Cancel = true;
            s_stopping = true;
            int number = context.Signal switch
            {
                PosixSignal.SIGINT => 2,
                PosixSignal.SIGHUP => 1,
                _ => 15,
            };
            KillApps(number);
        }
    }

    private static partial class Sys
    {
        public static int OpenDevNull()
        {
            int fd = Open("/dev/null", 2 /* O_RDWR */ | 0x80000 /* O_CLOEXEC */);
            return fd >= 0 ? fd : throw new Platform.Linux.LinuxException("open /dev/null", Marshal.GetLastPInvokeError());
        }

        public static int KillAll(int signal) => Kill(-1, signal);

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int signal);
    }
}
