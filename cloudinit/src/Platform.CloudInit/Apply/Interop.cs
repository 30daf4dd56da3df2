using System.Runtime.InteropServices;

namespace Platform.CloudInit.Apply;

internal static partial class Interop
{
    /// <summary>lchown(2): sets owner without following a final symlink.</summary>
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chown(string path, int owner, int group);
}
