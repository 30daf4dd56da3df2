using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Platform.Etcd.Storage.Internal;

/// <summary>
/// The few POSIX calls .NET does not expose: fdatasync (the WAL's durability point, cheaper than
/// fsync because it skips metadata that is not needed to read the data back), fallocate (segments
/// are preallocated so appends do not have to update the file size and allocate blocks) and
/// fsync of a directory (a created or renamed file is durable only once its directory is).
/// </summary>
internal static partial class PosixFile
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // O_DIRECTORY on Linux x86-64 and arm64
    private const int OCloExec = 0x80000; // O_CLOEXEC on Linux x86-64 and arm64
    private const int ENoEnt = 2;
    private const int EOpNotSupp = 95;
    private const int EIntr = 4;

    /// <summary>Makes the data written to <paramref name="handle"/> durable (fdatasync).</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            while (fdatasync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EIntr)
                {
                    throw new IOException($"fdatasync failed: {new Win32Exception(errno).Message}", errno);
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Allocates <paramref name="lengthBytes"/> of zeroed blocks and sets the file length to at
    /// least that; falls back to a sparse extension where the file system cannot allocate.
    /// </summary>
    public static void Preallocate(SafeFileHandle handle, long lengthBytes)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            if (fallocate(fd, 0, 0, lengthBytes) == 0)
            {
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != EOpNotSupp)
            {
                throw new IOException($"fallocate of {lengthBytes} bytes failed: {new Win32Exception(errno).Message}", errno);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (RandomAccess.GetLength(handle) < lengthBytes)
        {
            RandomAccess.SetLength(handle, lengthBytes);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> read-only without any advisory lock. .NET's own opens take
    /// <c>flock</c> (shared for reading), which fails while an open WAL holds its segments'
    /// exclusive locks; a reader that only inspects the log must not need (or take) them.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist (e.g. purged meanwhile).</exception>
    public static SafeFileHandle OpenReadOnlyUnlocked(string path)
    {
        int fd = open(path, ORdOnly | OCloExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ENoEnt)
            {
                throw new FileNotFoundException($"open {path} failed: no such file", path);
            }

            throw new IOException($"open {path} failed: {new Win32Exception(errno).Message}", errno);
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>fsyncs a directory so that entries created, renamed or removed in it are durable.</summary>
    public static void SyncDirectory(string path)
    {
        int fd = open(path, ORdOnly | ODirectory);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"open directory {path} failed: {new Win32Exception(errno).Message}", errno);
        }

        try
        {
            if (fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory {path} failed: {new Win32Exception(errno).Message}", errno);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
