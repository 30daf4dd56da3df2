using Microsoft.Win32.SafeHandles;
using Platform.Etcd.Storage.Internal;

namespace Platform.Etcd.Storage.Wal;

/// <summary>
/// Hands out preallocated, locked segment files (<c>0.tmp</c>, <c>1.tmp</c> alternately), the
/// next one prepared in the background while the current segment fills, so rolling to a new
/// segment does not wait for fallocate of 64 MB.
/// </summary>
internal sealed class SegmentPreparer(string directory, long segmentSizeBytes, bool background) : IDisposable
{
    private Task<(string Path, SafeFileHandle Handle)>? _next;
    private int _count;

    public void Start()
    {
        if (background && _next is null)
        {
            int number = _count++;
            _next = Task.Run(() => Prepare(number));
        }
    }

    public (string Path, SafeFileHandle Handle) Take()
    {
        (string Path, SafeFileHandle Handle) file;
        if (_next is null)
        {
            file = Prepare(_count++);
        }
        else
        {
            file = _next.GetAwaiter().GetResult();
            _next = null;
        }

        Start();
        return file;
    }

    /// <summary>Removes leftovers of a crashed run; call only while holding the WAL's locks.</summary>
    public static void RemoveStale(string directory)
    {
        foreach (string path in Directory.EnumerateFiles(directory, "*.tmp"))
        {
            File.Delete(path);
        }
    }

    public void Dispose()
    {
        if (_next is null)
        {
            return;
        }

        try
        {
            (string path, SafeFileHandle handle) = _next.GetAwaiter().GetResult();
            handle.Dispose();
            File.Delete(path);
        }
        catch (IOException)
        {
            // A failed background preparation has nothing to clean up.
        }

        _next = null;
    }

    private (string Path, SafeFileHandle Handle) Prepare(int number)
    {
        string path = Path.Combine(directory, $"{number % 2}.tmp");
        File.Delete(path);
        SafeFileHandle handle = LockedFile.TryOpen(path, FileMode.CreateNew)
            ?? throw new WalException($"wal: {path} is locked by another process");
        try
        {
            PosixFile.Preallocate(handle, segmentSizeBytes);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return (path, handle);
    }
}
