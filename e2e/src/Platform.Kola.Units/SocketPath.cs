using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Platform.Kola.Units;

/// <summary>
/// sockaddr_un holds at most 107 path bytes; test and machine directories are often deeper. A longer path is
/// reached through <c>/proc/self/fd/N/NAME</c>, N being a descriptor of the socket's directory held open
/// for the bind or connect (the kernel resolves the magic link to the directory itself).
/// </summary>
internal static partial class SocketPath
{
    private const int MaxPathBytes = 107;
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000;
    private const int OCloexec = 0x80000;

    /// <summary>Runs <paramref name="action"/> with an endpoint for <paramref name="path"/>.</summary>
    public static T With<T>(string path, Func<UnixDomainSocketEndPoint, T> action)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(path) <= MaxPathBytes)
        {
            return action(new UnixDomainSocketEndPoint(path));
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        int fd = Open(directory, ORdonly | ODirectory | OCloexec);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory}: errno {Marshal.GetLastPInvokeError().ToString(CultureInfo.InvariantCulture)}");
        }

        try
        {
            string shortPath = $"/proc/self/fd/{fd.ToString(CultureInfo.InvariantCulture)}/{Path.GetFileName(path)}";
            if (System.Text.Encoding.UTF8.GetByteCount(shortPath) > MaxPathBytes)
            {
                throw new IOException($"socket file name too long: {path}");
            }

            return action(new UnixDomainSocketEndPoint(shortPath));
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
