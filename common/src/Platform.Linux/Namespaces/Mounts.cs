using System.Runtime.InteropServices;
using System.Text;
using Platform.Linux.Processes;

namespace Platform.Linux.Namespaces;

/// <summary>mount(2) flags used by the runtimes.</summary>
[Flags]
public enum MountFlags : ulong
{
    None = 0,
    ReadOnly = 1,
    NoSuid = 2,
    NoDev = 4,
    NoExec = 8,
    Remount = 32,
    Bind = 4096,
    Recursive = 16384,
    Private = 1 << 18,
    Slave = 1 << 19,
    Shared = 1 << 20,
    StrictAtime = 1 << 24,
}

/// <summary>
/// Mount-table operations of the calling thread's mount namespace and root: mount, bind, unmount,
/// propagation, pivot_root, chroot, and reading <c>/proc/self/mountinfo</c>.
/// </summary>
public static partial class Mounts
{
    private const int MntDetach = 2;

    /// <exception cref="LinuxException">mount failed.</exception>
    public static void Mount(string? source, string target, string? fsType, MountFlags flags, string? data = null)
    {
        if (MountNative(source, target, fsType, (ulong)flags, data) != 0)
        {
            throw new LinuxException($"mount {fsType ?? "bind"} {source} on {target}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Bind-mounts <paramref name="source"/> on <paramref name="target"/>; read-only needs a second, remounting call, done here.</summary>
    public static void Bind(string source, string target, bool recursive = false, bool readOnly = false)
    {
        MountFlags flags = MountFlags.Bind | (recursive ? MountFlags.Recursive : MountFlags.None);
        Mount(source, target, null, flags);
        if (readOnly)
        {
            Mount(null, target, null, MountFlags.Bind | MountFlags.Remount | MountFlags.ReadOnly | MountFlags.NoSuid | MountFlags.NoDev);
        }
    }

    /// <summary>Remounts an existing mount point read-only (bind remount: only that mount, not its submounts).</summary>
    public static void RemountReadOnly(string target) =>
        Mount(null, target, null, MountFlags.Bind | MountFlags.Remount | MountFlags.ReadOnly);

    /// <summary>Sets propagation of <paramref name="target"/> (and everything below with <paramref name="recursive"/>) to private.</summary>
    public static void MakePrivate(string target, bool recursive = true) =>
        Mount(null, target, null, MountFlags.Private | (recursive ? MountFlags.Recursive : MountFlags.None));

    /// <summary>Unmounts; <paramref name="detach"/> = MNT_DETACH. False when it was not a mount point (EINVAL) or is gone (ENOENT).</summary>
    public static bool Unmount(string target, bool detach = true)
    {
        if (Umount2(target, detach ? MntDetach : 0) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno is 22 or 2 ? false : throw new LinuxException($"umount {target}", errno);
    }

    /// <summary>
    /// Makes <paramref name="newRoot"/> (a mount point) the root of the calling thread's mount namespace
    /// and detaches the old root entirely: <c>pivot_root(".", ".")</c> stacks the old root on top of the
    /// new one, then unmounting "." lazily removes it. Nothing of the old tree stays reachable. Only the
    /// calling task is affected if it is alone in its mount namespace (unshare CLONE_NEWNS first).
    /// </summary>
    public static void PivotRoot(string newRoot)
    {
        if (Chdir(newRoot) != 0)
        {
            throw new LinuxException($"chdir {newRoot}", Marshal.GetLastPInvokeError());
        }

        if (Sys.Syscall(Sys.Numbers.PivotRoot, StringPointerHolder.Dot, StringPointerHolder.Dot, 0) != 0)
        {
            throw new LinuxException($"pivot_root {newRoot}", Marshal.GetLastPInvokeError());
        }

        if (Umount2(".", MntDetach) != 0)
        {
            throw new LinuxException("umount old root", Marshal.GetLastPInvokeError());
        }

        ChangeDirectory("/");
    }

    /// <summary>chroot(2) for the calling thread's filesystem context (process-wide unless CLONE_FS was unshared).</summary>
    public static void ChangeRoot(string path)
    {
        if (ChrootNative(path) != 0)
        {
            throw new LinuxException($"chroot {path}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>chdir(2) for the calling thread's filesystem context.</summary>
    public static void ChangeDirectory(string path)
    {
        if (Chdir(path) != 0)
        {
            throw new LinuxException($"chdir {path}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>sethostname(2) in the calling thread's UTS namespace.</summary>
    public static void SetHostname(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (SetHostnameNative(bytes, bytes.Length) != 0)
        {
            throw new LinuxException($"sethostname {name}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Mount points at or below <paramref name="prefix"/> in <c>/proc/self/mountinfo</c>, deepest (last
    /// mounted) first: the order to unmount them in.
    /// </summary>
    public static IReadOnlyList<string> MountPointsUnder(string prefix, string mountInfoPath = "/proc/self/mountinfo")
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(prefix));
        var found = new List<string>();
        foreach (string line in File.ReadLines(mountInfoPath))
        {
            string[] fields = line.Split(' ');
            if (fields.Length < 5)
            {
                continue;
            }

            string point = Unescape(fields[4]);
            if (point == root || point.StartsWith(root + "/", StringComparison.Ordinal))
            {
                found.Add(point);
            }
        }

        found.Reverse();
        return found;
    }

    /// <summary>Prepares the mount calls used after a root change (pivot_root) so none needs the old root to resolve libc.</summary>
    internal static void Warmup()
    {
        _ = Umount2(string.Empty, 0);
        _ = Chdir(".");
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo octal.</summary>
    internal static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder();
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                string octal = field.Substring(i + 1, 3);
                if (octal.All(c => c is >= '0' and <= '7'))
                {
                    text.Append((char)Convert.ToInt32(octal, 8));
                    i += 3;
                    continue;
                }
            }

            text.Append(field[i]);
        }

        return text.ToString();
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountNative(string? source, string target, string? fsType, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chdir(string path);

    [LibraryImport("libc", EntryPoint = "chroot", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChrootNative(string path);

    [LibraryImport("libc", EntryPoint = "sethostname", SetLastError = true)]
    private static partial int SetHostnameNative(byte[] name, nint length);

    /// <summary>A NUL-terminated "." that lives for the process, for pivot_root's raw system call.</summary>
    private static unsafe class StringPointerHolder
    {
        private static readonly nint s_dot = CreateDot();

        public static long Dot => s_dot;

        private static nint CreateDot()
        {
            byte* p = (byte*)NativeMemory.Alloc(2);
            p[0] = (byte)'.';
            p[1] = 0;
            return (nint)p;
        }
    }
}
