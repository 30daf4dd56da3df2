using System.Runtime.InteropServices;

namespace Platform.Linux.Processes;

/// <summary>
/// Unmanaged function pointers into libc, resolved once. Calls through them are inline in the calling
/// method: no marshalling stub, no managed callee, no allocation. <c>NamespaceLauncher</c>'s critical
/// windows (between changing the thread's PID namespace for children and changing it back) consist
/// only of such calls, so the runtime never gets a chance to create a thread from that thread (the
/// kernel refuses CLONE_THREAD while a task's PID namespace for children differs from its own).
/// </summary>
internal static unsafe class NativeCalls
{
    private static readonly nint s_libc = NativeLibrary.Load("libc.so.6");

    private static readonly delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int> s_posixSpawn =
        (delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int>)NativeLibrary.GetExport(s_libc, "posix_spawn");

    private static readonly delegate* unmanaged<int, int> s_unshare =
        (delegate* unmanaged<int, int>)NativeLibrary.GetExport(s_libc, "unshare");

    private static readonly delegate* unmanaged<int, int, int> s_setns =
        (delegate* unmanaged<int, int, int>)NativeLibrary.GetExport(s_libc, "setns");

    private static readonly delegate* unmanaged<int*> s_errnoLocation =
        (delegate* unmanaged<int*>)NativeLibrary.GetExport(s_libc, "__errno_location");

    public static int PosixSpawn(int* pid, byte* path, void* actions, void* attr, byte** argv, byte** envp) =>
        s_posixSpawn(pid, path, actions, attr, argv, envp);

    /// <summary>unshare(2); returns 0 or the errno.</summary>
    public static int Unshare(int flags) => s_unshare(flags) == 0 ? 0 : *s_errnoLocation();

    /// <summary>setns(2); returns 0 or the errno.</summary>
    public static int Setns(int fd, int nstype) => s_setns(fd, nstype) == 0 ? 0 : *s_errnoLocation();

    /// <summary>The raw pointers, for the critical windows that must not call even these small wrappers.</summary>
    public static delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int> PosixSpawnPointer => s_posixSpawn;

    public static delegate* unmanaged<int, int> UnsharePointer => s_unshare;

    public static delegate* unmanaged<int, int, int> SetnsPointer => s_setns;

    public static delegate* unmanaged<int*> ErrnoLocationPointer => s_errnoLocation;
}
