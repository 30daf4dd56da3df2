using System.Runtime.InteropServices;

namespace Platform.Rkt.Stage1.Default;

/// <summary>Brings <c>lo</c> up in the calling thread's network namespace (SIOCGIFFLAGS/SIOCSIFFLAGS).</summary>
internal static unsafe partial class Loopback
{
    private const int AfInet = 2;
    private const int SockDgram = 2;
    private const int SockCloexec = 0x80000;
    private const ulong SiocGifFlags = 0x8913;
    private const ulong SiocSifFlags = 0x8914;
    private const short IffUp = 1;

    public static void Up()
    {
        int fd = Socket(AfInet, SockDgram | SockCloexec, 0);
        if (fd < 0)
        {
            throw new Platform.Linux.LinuxException("socket", Marshal.GetLastPInvokeError());
        }

        try
        {
            byte* ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            ifreq[0] = (byte)'l';
            ifreq[1] = (byte)'o';
            if (Ioctl(fd, SiocGifFlags, ifreq) != 0)
            {
                throw new Platform.Linux.LinuxException("SIOCGIFFLAGS lo", Marshal.GetLastPInvokeError());
            }

            *(short*)(ifreq + 16) |= IffUp;
            if (Ioctl(fd, SiocSifFlags, ifreq) != 0)
            {
                throw new Platform.Linux.LinuxException("SIOCSIFFLAGS lo", Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, byte* arg);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
