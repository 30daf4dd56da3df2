using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Platform.Rkt.Images.Native;

/// <summary>How a <see cref="FileLock"/> is held.</summary>
public enum LockMode
{
    /// <summary>Many holders at once (readers: rendering from an image, a pod using a tree).</summary>
    Shared,

    /// <summary>One holder (writers: importing, removing, garbage-collecting).</summary>
    Exclusive,
}

/// <summary>
/// An advisory flock(2) on a file or a directory, the way rkt locks images, trees and pods: the lock
/// lives as long as the open file description, so it is released when the holder disposes it or when
/// the process dies (a killed rkt never leaves a stale lock). Locks are per open file, so two
/// <see cref="FileLock"/>s on one path in the same process exclude each other too.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly SafeFileHandle _handle;

    private FileLock(SafeFileHandle handle, string path, LockMode mode)
    {
        _handle = handle;
        Path = path;
        Mode = mode;
    }

    /// <summary>The locked file or directory.</summary>
    public string Path { get; }

    /// <summary>How the lock is held now.</summary>
    public LockMode Mode { get; private set; }

    /// <summary>
    /// The open descriptor holding the lock (pods hand it to stage1 as rkt's <c>RKT_LOCK_FD</c>: a
    /// child that inherits it keeps the lock held after this process exits).
    /// </summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>
    /// Takes the lock, waiting for conflicting holders to release theirs. A missing lock file is
    /// created (mode 0644); a directory must exist.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened or locked.</exception>
    public static FileLock Acquire(string path, LockMode mode) =>
        TryAcquireCore(path, mode, wait: true) ?? throw new IOException($"cannot lock {path}");

    /// <summary>Takes the lock only if no conflicting holder has it; null otherwise.</summary>
    public static FileLock? TryAcquire(string path, LockMode mode) => TryAcquireCore(path, mode, wait: false);

    /// <summary>
    /// Converts the lock to <paramref name="mode"/>. Not atomic (flock(2) drops the old lock first),
    /// so callers re-check state after an upgrade.
    /// </summary>
    public bool TryChange(LockMode mode, bool wait)
    {
        int op = (mode == LockMode.Shared ? Libc.LockShared : Libc.LockExclusive) | (wait ? 0 : Libc.LockNonBlocking);
        if (FlockRetrying(_handle, op))
        {
            Mode = mode;
            return true;
        }

        return false;
    }

    public void Dispose() => _handle.Dispose();

    private static FileLock? TryAcquireCore(string path, LockMode mode, bool wait)
    {
        int flags = Libc.OpenReadOnly | Libc.OpenCloseOnExec;
        flags |= Directory.Exists(path) ? Libc.OpenDirectory : Libc.OpenCreate;
        int fd = Libc.Open(path, flags, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        int op = (mode == LockMode.Shared ? Libc.LockShared : Libc.LockExclusive) | (wait ? 0 : Libc.LockNonBlocking);
        try
        {
            if (!FlockRetrying(handle, op))
            {
                handle.Dispose();
                return null;
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new FileLock(handle, path, mode);
    }

    private static bool FlockRetrying(SafeFileHandle handle, int op)
    {
        while (true)
        {
            if (Libc.Flock(handle, op) == 0)
            {
                return true;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EInterrupted)
            {
                continue;
            }

            if (errno == Libc.EWouldBlock)
            {
                return false;
            }

            throw new IOException($"flock: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }
}
