using Microsoft.Win32.SafeHandles;

namespace Platform.Etcd.Storage.Internal;

/// <summary>Opens files under an exclusive advisory lock.</summary>
internal static class LockedFile
{
    /// <summary>
    /// Opens <paramref name="path"/> read-write under an exclusive lock. On Unix, .NET takes
    /// <c>flock(LOCK_EX | LOCK_NB)</c> for <see cref="FileShare.None"/>, which conflicts with any
    /// other open file description (another process, or another open in this one), so the lock
    /// is what keeps two servers off one WAL and keeps purging off segments in use.
    /// </summary>
    /// <returns>The handle, or null when another holder has the lock.</returns>
    public static SafeFileHandle? TryOpen(string path, FileMode mode)
    {
        try
        {
            return File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && IsLockConflict(e))
        {
            return null;
        }
    }

    // EWOULDBLOCK (11) surfaces as an IOException whose HResult carries the errno; a sharing
    // violation message is what the Unix FileStream strategy reports for it.
    private static bool IsLockConflict(IOException e) =>
        e.HResult == 11 || e.HResult == unchecked((int)0x80070020) || e.Message.Contains("being used by another process", StringComparison.Ordinal);
}
