using System.Runtime.InteropServices;

namespace Platform.Linux.Processes;

/// <summary>
/// libc entry points for process launching. Calls that change credentials go through
/// <c>syscall(2)</c> directly: glibc's <c>setresuid</c>/<c>setgroups</c> wrappers broadcast the change
/// to every thread of the process (nptl "setxid"), which is exactly what a per-thread launcher must avoid.
/// </summary>
internal static unsafe partial class Sys
{
    public const int EINTR = 4;
    public const int ECHILD = 10;
    public const int EAGAIN = 11;
    public const int ENOENT = 2;
    public const int EINVAL = 22;
    public const int ESRCH = 3;

    public const int PosixSpawnSetSigDef = 0x04;
    public const int PosixSpawnSetSigMask = 0x08;
    public const int PosixSpawnSetSid = 0x80;

    public const int PrSetPdeathsig = 1;
    public const int PrSetChildSubreaper = 36;
    public const int PrSetKeepCaps = 8;
    public const int PrCapbsetDrop = 24;
    public const int PrSetNoNewPrivs = 38;

    public const int FGetFd = 1;
    public const int FSetFd = 2;
    public const int FdCloexec = 1;
    public const int OCloexec = 0x80000;

    // Buffers comfortably larger than glibc's posix_spawnattr_t (336 bytes), posix_spawn_file_actions_t
    // (80) and sigset_t (128) on every 64-bit architecture glibc supports.
    public const int SpawnAttrBytes = 1024;
    public const int FileActionsBytes = 256;
    public const int SigSetBytes = 128;

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    public static partial int SpawnAttrInit(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    public static partial int SpawnAttrDestroy(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    public static partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int SpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int SpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int FileActionsInit(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int FileActionsDestroy(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int FileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FileActionsAddChdir(void* actions, string path);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* set);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    public static partial int SigFillSet(void* set);

    [LibraryImport("libc", EntryPoint = "sigdelset")]
    public static partial int SigDelSet(void* set, int signal);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    public static partial int Capset(CapHeader* header, CapData* data);

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    public static partial int Capget(CapHeader* header, CapData* data);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long a1, long a2, long a3);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [StructLayout(LayoutKind.Sequential)]
    public struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    /// <summary>Per-architecture numbers of the raw system calls used (x86-64 and arm64).</summary>
    public static class Numbers
    {
        private static readonly bool s_arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

        public static long SetGroups => s_arm64 ? 159 : 116;

        public static long SetResUid => s_arm64 ? 147 : 117;

        public static long SetResGid => s_arm64 ? 149 : 119;

        public static long PivotRoot => s_arm64 ? 41 : 155;
    }

    public static int LastError => Marshal.GetLastPInvokeError();
}
