using Microsoft.Win32.SafeHandles;

namespace Platform.Etcd.Storage.Wal;

/// <summary>An open, exclusively locked segment file.</summary>
internal sealed class Segment(string path, SegmentName name, SafeFileHandle handle) : IDisposable
{
    public string Path { get; } = path;

    public SegmentName Name { get; } = name;

    public SafeFileHandle Handle { get; } = handle;

    public void Dispose() => Handle.Dispose();
}
