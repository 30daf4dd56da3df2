using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Platform.Linux.Processes;

namespace Platform.Linux.Namespaces;

/// <summary>Namespace kinds, as the CLONE_NEW* flags of clone(2), unshare(2) and setns(2).</summary>
[Flags]
public enum NamespaceKinds
{
    None = 0,
    Mount = 0x00020000,
    Uts = 0x04000000,
    Ipc = 0x08000000,
    Pid = 0x20000000,
    Net = 0x40000000,
}

/// <summary>
/// Starts processes in namespaces from a multithreaded .NET process, correct by construction.
/// </summary>
/// <remarks>
/// <para>Namespaces, the filesystem root and working directory (with CLONE_FS unshared), credentials and
/// capability sets all belong to a kernel <em>task</em> (a thread), and a child created by fork/clone
/// (posix_spawn's CLONE_VFORK) takes them from the task that creates it. So each launch runs on a fresh,
/// dedicated thread that (1) reshapes only itself — unshare/setns of mount, UTS, IPC and network
/// namespaces, unshare(CLONE_FS) and pivot_root/chroot/chdir, per-thread credentials via raw system calls —
/// (2) spawns the child with posix_spawn, which runs no managed code in the child, and (3) ends. No other
/// thread ever runs with the changed state, and the child's state is fixed by the kernel at clone time.</para>
/// <para>The PID namespace is the one exception needing more care: after unshare(CLONE_NEWPID) or
/// setns(CLONE_NEWPID) the task's "PID namespace for children" differs from its own, and the kernel then
/// refuses to create threads from that task (EINVAL for CLONE_THREAD) — which the runtime might try at any
/// managed call (tiered-compilation worker, background GC). The window from that change to the spawn and
/// back to the original PID namespace is therefore one method compiled fully optimized up front (no call
/// counting), which only calls libc through unmanaged function pointers and allocates nothing.</para>
/// <para>Mount-namespace setns needs an unshared filesystem context (EINVAL otherwise, the reason it is
/// "refused in multithreaded processes"): the thread unshares CLONE_FS first, so it is always allowed.</para>
/// </remarks>
public static unsafe class NamespaceLauncher
{
    private const int CloneFs = 0x00000200;

    /// <summary>
    /// Spawns <paramref name="request"/> in fresh namespaces of <paramref name="kinds"/>, optionally joining
    /// the network namespace file <paramref name="joinNetwork"/> instead of a new one. With
    /// <see cref="NamespaceKinds.Pid"/> the child is PID 1 of its namespace.
    /// </summary>
    /// <returns>The child's pid in the caller's PID namespace; reap it with <see cref="ProcessSpawner.Wait"/>.</returns>
    /// <exception cref="LinuxException">A namespace operation or the spawn failed.</exception>
    public static int SpawnInNewNamespaces(SpawnRequest request, NamespaceKinds kinds, string? joinNetwork = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var own = File.OpenHandle("/proc/self/ns/pid");
        int ownFd = (int)own.DangerousGetHandle();
        return RunOnFreshThread(() =>
        {
            if (joinNetwork is not null)
            {
                using var net = File.OpenHandle(joinNetwork);
                CheckErrno(NativeCalls.Setns((int)net.DangerousGetHandle(), (int)NamespaceKinds.Net), $"setns {joinNetwork}");
                kinds &= ~NamespaceKinds.Net;
            }

            int other = (int)(kinds & ~NamespaceKinds.Pid);
            if (other != 0)
            {
                CheckErrno(NativeCalls.Unshare(other | ((kinds & NamespaceKinds.Mount) != 0 ? CloneFs : 0)), $"unshare({kinds})");
            }

            return SpawnWithPidNamespace(request, (kinds & NamespaceKinds.Pid) != 0 ? -1 : -2, ownFd);
        });
    }

    /// <summary>
    /// Spawns <paramref name="request"/> inside the namespaces of process <paramref name="targetPid"/>
    /// (<c>rkt enter</c>): joins its <paramref name="kinds"/> namespaces, then, if given, chroots to
    /// <paramref name="rootInTarget"/> (a path in the target's mount namespace) and applies
    /// <paramref name="credentials"/>.
    /// </summary>
    public static int SpawnInNamespacesOf(int targetPid, NamespaceKinds kinds, string? rootInTarget, ThreadCredentials? credentials, SpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Every namespace file is opened before joining any: after joining the mount namespace, /proc
        // may no longer show the target.
        var handles = new List<(NamespaceKinds Kind, Microsoft.Win32.SafeHandles.SafeFileHandle Handle)>();
        using var own = File.OpenHandle("/proc/self/ns/pid");
        int ownFd = (int)own.DangerousGetHandle();
        try
        {
            foreach ((NamespaceKinds kind, string name) in (ReadOnlySpan<(NamespaceKinds, string)>)[(NamespaceKinds.Ipc, "ipc"), (NamespaceKinds.Uts, "uts"), (NamespaceKinds.Net, "net"), (NamespaceKinds.Mount, "mnt"), (NamespaceKinds.Pid, "pid")])
            {
                if ((kinds & kind) != 0)
                {
                    handles.Add((kind, File.OpenHandle($"/proc/{targetPid}/ns/{name}")));
                }
            }

            return RunOnFreshThread(() =>
            {
                CheckErrno(NativeCalls.Unshare(CloneFs), "unshare(CLONE_FS)");
                int pidFd = -2;
                foreach ((NamespaceKinds kind, Microsoft.Win32.SafeHandles.SafeFileHandle handle) in handles)
                {
                    if (kind == NamespaceKinds.Pid)
                    {
                        pidFd = (int)handle.DangerousGetHandle();
                        continue;
                    }

                    CheckErrno(NativeCalls.Setns((int)handle.DangerousGetHandle(), (int)kind), $"setns {kind} of pid {targetPid}");
                }

                if (rootInTarget is not null)
                {
                    Mounts.ChangeRoot(rootInTarget);
                    Mounts.ChangeDirectory("/");
                }

                credentials?.ApplyToCurrentThread();
                return SpawnWithPidNamespace(request, pidFd, ownFd);
            });
        }
        finally
        {
            foreach ((_, Microsoft.Win32.SafeHandles.SafeFileHandle handle) in handles)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="prepareThread"/> on a fresh thread, then spawns <paramref name="request"/> from
    /// it: the child inherits whatever the preparation did to the thread (an unshared mount namespace and
    /// pivot_root, a cgroup the thread joined, <see cref="ThreadCredentials"/>, ...). The thread then ends.
    /// </summary>
    public static int SpawnFromPreparedThread(Action prepareThread, SpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(prepareThread);
        ArgumentNullException.ThrowIfNull(request);
        using var prepared = new PreparedSpawn(request);
        Warmup();
        return RunOnFreshThread(() =>
        {
            prepareThread();
            int pid;
            int error = prepared.Spawn(&pid);
            return error == 0 ? pid : throw new LinuxException($"spawn {request.Path}", error);
        });
    }

    /// <summary>
    /// Unshares the filesystem context and mount namespace of the calling thread, for
    /// <see cref="SpawnFromPreparedThread"/> preparations that change the root.
    /// </summary>
    public static void UnshareThreadMountNamespace() =>
        CheckErrno(NativeCalls.Unshare(CloneFs | (int)NamespaceKinds.Mount), "unshare(CLONE_FS|CLONE_NEWNS)");

    /// <summary>Unshares only the filesystem context (root, cwd, umask) of the calling thread, e.g. before chroot.</summary>
    public static void UnshareThreadFilesystem() => CheckErrno(NativeCalls.Unshare(CloneFs), "unshare(CLONE_FS)");

    /// <summary>
    /// Replaces the whole process by <paramref name="request"/> after <paramref name="prepareThread"/> ran
    /// on a fresh thread (rkt fly: chroot, credentials, then exec). execve from that thread makes its
    /// root, credentials and namespaces the new program's; every other thread is discarded by the
    /// kernel. Returns only on failure.
    /// </summary>
    /// <exception cref="LinuxException">Preparation or execve failed.</exception>
    public static void ExecFromPreparedThread(Action prepareThread, SpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(prepareThread);
        ArgumentNullException.ThrowIfNull(request);
        using var prepared = new PreparedSpawn(request);
        Warmup();
        _ = RunOnFreshThread<int>(() =>
        {
            prepareThread();
            int error = Exec.Replace(prepared, request);
            throw new LinuxException($"execve {request.Path}", error);
        });
    }

    /// <summary>Resolves every libc entry point the launch path uses, before any root change hides libc.</summary>
    private static void Warmup()
    {
        Mounts.Warmup();
        _ = NativeCalls.UnsharePointer;
        _ = Sys.Prctl(39 /* PR_GET_NO_NEW_PRIVS */, 0, 0, 0, 0);
        Sys.CapHeader header = new() { Version = 0x20080522 };
        Sys.CapData* data = stackalloc Sys.CapData[2];
        _ = Sys.Capget(&header, data);
        Sys.CapHeader invalid = default;
        _ = Sys.Capset(&invalid, data); // EINVAL: resolves the entry point only.
        _ = Sys.Syscall(-1, 0, 0, 0);
        Exec.Warmup();
    }

    /// <param name="request">What to spawn.</param>
    /// <param name="pidNamespace">-2: no PID namespace change; -1: unshare a new one; otherwise an fd to setns into.</param>
    /// <param name="ownFd">The caller's own PID namespace, opened before any root change, to return to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int SpawnWithPidNamespace(SpawnRequest request, int pidNamespace, int ownFd)
    {
        using var prepared = new PreparedSpawn(request);
        if (pidNamespace == -2)
        {
            int plainPid;
            int plainError = prepared.Spawn(&plainPid);
            return plainError == 0 ? plainPid : throw new LinuxException($"spawn {request.Path}", plainError);
        }

        int pid = 0;
        int error = CriticalSpawn(prepared.PathPointer, prepared.Actions, prepared.Attributes, prepared.Argv, prepared.Envp, pidNamespace, ownFd, &pid);
        if (error < 0)
        {
            // Restoring failed: this thread cannot safely run managed code that might create threads.
            Environment.FailFast($"setns back to the original PID namespace failed (errno {-error})");
        }

        return error == 0 ? pid : throw new LinuxException(pidNamespace == -1 ? "unshare(CLONE_NEWPID)/spawn" : "setns(pid)/spawn", error);
    }

    /// <summary>
    /// The critical window. Returns 0, a positive errno of the namespace change or spawn, or a negative
    /// errno when the PID namespace could not be restored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int CriticalSpawn(byte* path, void* actions, void* attr, byte** argv, byte** envp, int pidNamespace, int ownFd, int* pid)
    {
        delegate* unmanaged<int, int> unshare = NativeCalls.UnsharePointer;
        delegate* unmanaged<int, int, int> setns = NativeCalls.SetnsPointer;
        delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int> spawn = NativeCalls.PosixSpawnPointer;
        delegate* unmanaged<int*> errnoLocation = NativeCalls.ErrnoLocationPointer;

        int changed = pidNamespace == -1 ? unshare((int)NamespaceKinds.Pid) : setns(pidNamespace, (int)NamespaceKinds.Pid);
        if (changed != 0)
        {
            return *errnoLocation();
        }

        int error = spawn(pid, path, actions, attr, argv, envp);
        if (setns(ownFd, (int)NamespaceKinds.Pid) != 0)
        {
            return -*errnoLocation();
        }

        return error;
    }

    private static void CheckErrno(int errno, string what)
    {
        if (errno != 0)
        {
            throw new LinuxException(what, errno);
        }
    }

    private static T RunOnFreshThread<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "ns-launcher",
        };
        thread.UnsafeStart();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>execve through a function pointer (the process image is replaced on success).</summary>
    private static class Exec
    {
        private static readonly nint s_libc = System.Runtime.InteropServices.NativeLibrary.Load("libc.so.6");

        private static readonly delegate* unmanaged<byte*, byte**, byte**, int> s_execve =
            (delegate* unmanaged<byte*, byte**, byte**, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(s_libc, "execve");

        private static readonly delegate* unmanaged<int, byte*, byte*, int> s_sigmask =
            (delegate* unmanaged<int, byte*, byte*, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(s_libc, "pthread_sigmask");

        public static void Warmup()
        {
            _ = s_execve;
            _ = s_sigmask;
        }

        public static int Replace(PreparedSpawn prepared, SpawnRequest request)
        {
            // posix_spawn's file actions and signal settings do not apply to execve: descriptors 0-2 stay
            // the caller's, handled signals revert to default by execve itself, and the blocked mask is
            // inherited, so it is cleared here.
            _ = request;
            byte* set = stackalloc byte[Sys.SigSetBytes];
            _ = Sys.SigEmptySet(set);
            s_sigmask(2 /* SIG_SETMASK */, set, null);
            s_execve(prepared.PathPointer, prepared.Argv, prepared.Envp);
            return *NativeCalls.ErrnoLocationPointer();
        }
    }
}
