using System.Runtime.InteropServices;

namespace Platform.Rkt.Images.Native;

/// <summary>
/// The few libc calls .NET does not expose: flock(2) with blocking and shared modes, link(2),
/// lchown(2), utimensat(2) without following symlinks, and open(2) for lock files (so .NET's own
/// advisory locking on FileStream never interferes with ours).
/// </summary>
internal static partial class Libc
{
    public const int LockShared = 1;
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;
    public const int LockUnlock = 8;

    public const int OpenReadOnly = 0;
    public const int OpenCreate = 0x40;
    public const int OpenDirectory = 0x10000;
    public const int OpenNoFollow = 0x20000;
    public const int OpenCloseOnExec = 0x80000;

    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;

    public const int EWouldBlock = 11;
    public const int EInterrupted = 4;
    public const int EExist = 17;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(SafeHandle fd, int operation);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Utimensat(int dirFd, string path, ReadOnlySpan<Timespec> times, int flags);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkfifo(string path, int mode);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial int Geteuid();

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>Sets access and modification time of <paramref name="path"/> itself (a symlink is not followed).</summary>
    public static void SetTimesNoFollow(string path, DateTimeOffset modified)
    {
        long ticks = modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var ts = new Timespec { Seconds = ticks / TimeSpan.TicksPerSecond, Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100 };
        if (ts.Nanoseconds < 0)
        {
            ts.Seconds--;
            ts.Nanoseconds += 1_000_000_000;
        }

        Span<Timespec> times = [ts, ts];
        if (Utimensat(AtFdCwd, path, times, AtSymlinkNoFollow) != 0)
        {
            throw new IOException($"utimensat {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>Changes the owner of <paramref name="path"/> itself (a symlink is not followed).</summary>
    public static void ChownNoFollow(string path, int uid, int gid)
    {
        if (Lchown(path, uid, gid) != 0)
        {
            throw new IOException($"lchown {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>Creates <paramref name="newPath"/> as a hard link to <paramref name="oldPath"/>; neither is followed if a symlink.</summary>
    public static void HardLink(string oldPath, string newPath)
    {
        if (Link(oldPath, newPath) != 0)
        {
            throw new IOException($"link {newPath} => {oldPath}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>Creates a named pipe.</summary>
    public static void MakeFifo(string path, int mode)
    {
        if (Mkfifo(path, mode) != 0)
        {
            throw new IOException($"mkfifo {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    public static bool IsRoot => Geteuid() == 0;
}
