namespace Platform.Linux.Processes;

/// <summary>
/// The identity a launched app gets: user, group, supplementary groups, the capabilities it keeps (all
/// others leave the bounding set) and no_new_privs. Applied with <see cref="ApplyToCurrentThread"/> on
/// the thread that then spawns or execs the app: credentials and capability sets are per task in
/// Linux, and a child (or an execve) takes exactly the calling thread's.
/// </summary>
public sealed class ThreadCredentials
{
    public int Uid { get; init; }

    public int Gid { get; init; }

    public IReadOnlyList<int> SupplementaryGids { get; init; } = [];

    /// <summary>Capability numbers kept in the bounding set (a root app's permitted and effective sets after exec).</summary>
    public required IReadOnlySet<int> RetainedCapabilities { get; init; }

    /// <summary>PR_SET_NO_NEW_PRIVS: setuid binaries and file capabilities grant nothing after exec.</summary>
    public bool NoNewPrivileges { get; init; }

    /// <summary>
    /// setgroups, setresgid, bounding-set drops, setresuid and no_new_privs for the calling thread only
    /// (raw system calls, not glibc's process-wide wrappers). Call it on a dedicated thread that ends
    /// afterwards; the step that failed is named in the exception.
    /// </summary>
    /// <remarks>
    /// The thread keeps its own effective capabilities (so it can still join a PID namespace right before
    /// spawning); what the app gets is decided by the kernel at execve from the bounding set: a root app's
    /// permitted and effective sets become exactly the bounding set (<see cref="RetainedCapabilities"/>), a
    /// non-root app gets none (no file capabilities or ambient set are used). For a non-root uid,
    /// PR_SET_KEEPCAPS keeps the thread's permitted set across setresuid; execve clears that flag.
    /// </remarks>
    /// <exception cref="LinuxException">A step failed.</exception>
    public unsafe void ApplyToCurrentThread()
    {
        int* groups = stackalloc int[Math.Max(1, SupplementaryGids.Count)];
        for (int i = 0; i < SupplementaryGids.Count; i++)
        {
            groups[i] = SupplementaryGids[i];
        }

        CheckSyscall(Sys.Syscall(Sys.Numbers.SetGroups, SupplementaryGids.Count, (long)groups, 0), "setgroups");
        CheckSyscall(Sys.Syscall(Sys.Numbers.SetResGid, Gid, Gid, Gid), $"setresgid {Gid}");

        int last = Capabilities.LastSupported;
        for (int cap = 0; cap <= last; cap++)
        {
            if (!RetainedCapabilities.Contains(cap) && Sys.Prctl(Sys.PrCapbsetDrop, (nuint)cap, 0, 0, 0) != 0)
            {
                throw new LinuxException($"prctl(PR_CAPBSET_DROP, {Capabilities.NameOf(cap)})", Sys.LastError);
            }
        }

        if (Uid != 0)
        {
            if (Sys.Prctl(Sys.PrSetKeepCaps, 1, 0, 0, 0) != 0)
            {
                throw new LinuxException("prctl(PR_SET_KEEPCAPS)", Sys.LastError);
            }

            CheckSyscall(Sys.Syscall(Sys.Numbers.SetResUid, Uid, Uid, Uid), $"setresuid {Uid}");

            // setresuid cleared the effective set; restore it from the kept permitted set.
            var header = new Sys.CapHeader { Version = 0x20080522, Pid = 0 };
            Sys.CapData* data = stackalloc Sys.CapData[2];
            if (Sys.Capget(&header, data) != 0)
            {
                throw new LinuxException("capget", Sys.LastError);
            }

            data[0].Effective = data[0].Permitted;
            data[1].Effective = data[1].Permitted;
            if (Sys.Capset(&header, data) != 0)
            {
                throw new LinuxException("capset", Sys.LastError);
            }
        }

        if (NoNewPrivileges && Sys.Prctl(Sys.PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            throw new LinuxException("prctl(PR_SET_NO_NEW_PRIVS)", Sys.LastError);
        }
    }

    private static void CheckSyscall(long result, string what)
    {
        if (result != 0)
        {
            throw new LinuxException(what, Sys.LastError);
        }
    }
}
