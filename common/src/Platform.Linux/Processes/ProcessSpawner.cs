namespace Platform.Linux.Processes;

/// <summary>
/// Starts processes without <see cref="System.Diagnostics.Process"/> (posix_spawn from the calling
/// thread, so the child inherits that thread's namespaces, root, working directory and credentials)
/// and waits for them with waitpid. A process that is PID 1 of a namespace reaps every child itself
/// with <see cref="WaitAny"/>; it must then never use <see cref="System.Diagnostics.Process"/>, whose
/// SIGCHLD handling would race for the same children.
/// </summary>
public static unsafe class ProcessSpawner
{
    /// <summary>Starts the process; returns its pid.</summary>
    /// <exception cref="LinuxException">posix_spawn failed (ENOENT: no such executable, EACCES, ...).</exception>
    public static int Spawn(SpawnRequest request)
    {
        using var prepared = new PreparedSpawn(request);
        int pid;
        int error = prepared.Spawn(&pid);
        if (error != 0)
        {
            throw new LinuxException($"spawn {request.Path}", error);
        }

        return pid;
    }

    /// <summary>Blocks until child <paramref name="pid"/> ends and reaps it.</summary>
    /// <exception cref="LinuxException">Not a child of this process (ECHILD).</exception>
    public static ExitStatus Wait(int pid)
    {
        int status;
        while (true)
        {
            int result = Sys.WaitPid(pid, &status, 0);
            if (result == pid)
            {
                return ExitStatus.FromWaitStatus(status);
            }

            int errno = Sys.LastError;
            if (result < 0 && errno != Sys.EINTR)
            {
                throw new LinuxException($"waitpid {pid}", errno);
            }
        }
    }

    /// <summary>
    /// Blocks until any child ends and reaps it; null when there are no children left (ECHILD).
    /// </summary>
    public static (int Pid, ExitStatus Status)? WaitAny()
    {
        int status;
        while (true)
        {
            int result = Sys.WaitPid(-1, &status, 0);
            if (result > 0)
            {
                return (result, ExitStatus.FromWaitStatus(status));
            }

            int errno = Sys.LastError;
            if (errno == Sys.ECHILD)
            {
                return null;
            }

            if (errno != Sys.EINTR)
            {
                throw new LinuxException("waitpid -1", errno);
            }
        }
    }

    /// <summary>Sends <paramref name="signal"/>; false when the process no longer exists (ESRCH).</summary>
    public static bool Signal(int pid, int signal)
    {
        if (Sys.Kill(pid, signal) == 0)
        {
            return true;
        }

        int errno = Sys.LastError;
        return errno == Sys.ESRCH ? false : throw new LinuxException($"kill {pid} {signal}", errno);
    }

    /// <summary>True while a process with this pid exists (a zombie counts).</summary>
    public static bool Exists(int pid) => pid > 0 && (Sys.Kill(pid, 0) == 0 || Sys.LastError != Sys.ESRCH);

    /// <summary>Asks the kernel to send <paramref name="signal"/> to this process when its parent thread exits.</summary>
    public static void SetParentDeathSignal(int signal)
    {
        if (Sys.Prctl(Sys.PrSetPdeathsig, (nuint)signal, 0, 0, 0) != 0)
        {
            throw new LinuxException("prctl(PR_SET_PDEATHSIG)", Sys.LastError);
        }
    }

    /// <summary>
    /// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented
    /// to it instead of to PID 1, so it can reap them with <see cref="WaitAny"/>. The way for a .NET
    /// process to act as a namespace's init, which it must not be itself: a .NET PID 1 reaps every child
    /// in the runtime's own SIGCHLD handler once any SIGCHLD handling is set up, racing its own waitpid.
    /// </summary>
    public static void SetChildSubreaper()
    {
        if (Sys.Prctl(Sys.PrSetChildSubreaper, 1, 0, 0, 0) != 0)
        {
            throw new LinuxException("prctl(PR_SET_CHILD_SUBREAPER)", Sys.LastError);
        }
    }

    /// <summary>A pipe; both ends close-on-exec.</summary>
    public static (int Read, int Write) CreatePipe()
    {
        int* fds = stackalloc int[2];
        if (Sys.Pipe2(fds, Sys.OCloexec) != 0)
        {
            throw new LinuxException("pipe2", Sys.LastError);
        }

        return (fds[0], fds[1]);
    }

    /// <summary>Clears or sets FD_CLOEXEC, e.g. to hand a lock descriptor to an exec'd program (rkt's RKT_LOCK_FD).</summary>
    public static void SetInheritable(int fd, bool inheritable)
    {
        int flags = Sys.Fcntl(fd, Sys.FGetFd, 0);
        if (flags < 0 || Sys.Fcntl(fd, Sys.FSetFd, inheritable ? flags & ~Sys.FdCloexec : flags | Sys.FdCloexec) < 0)
        {
            throw new LinuxException($"fcntl {fd}", Sys.LastError);
        }
    }

    /// <summary>close(2), ignoring errors.</summary>
    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = Sys.Close(fd);
        }
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; 0 at end of file. Retries EINTR.</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Sys.Read(fd, p, buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                int errno = Sys.LastError;
                if (errno != Sys.EINTR)
                {
                    throw new LinuxException($"read fd {fd}", errno);
                }
            }
        }
    }

    /// <summary>Writes everything; retries EINTR and short writes.</summary>
    public static void Write(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = Sys.Write(fd, p + done, data.Length - done);
                if (n >= 0)
                {
                    done += (int)n;
                    continue;
                }

                int errno = Sys.LastError;
                if (errno != Sys.EINTR)
                {
                    throw new LinuxException($"write fd {fd}", errno);
                }
            }
        }
    }

    /// <summary>The calling thread's kernel task id.</summary>
    public static int CurrentThreadId => Sys.GetTid();
}
