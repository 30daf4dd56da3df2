using System.Runtime.InteropServices;
using System.Text;
using Platform.Linux;

namespace Platform.Flannel.Backends.Udp;

/// <summary>
/// The syscalls of the udp backend's packet path, on raw file descriptors (no managed socket layer on
/// the hot path): a TUN queue with <c>IFF_VNET_HDR</c> and TSO, and a UDP socket that sends with
/// <c>UDP_SEGMENT</c> (UDP GSO) and receives with <c>UDP_GRO</c>. Layouts are LP64 Linux (x86-64, arm64).
/// </summary>
internal static unsafe partial class UdpNative
{
    public const int EAGAIN = 11;
    public const int EINTR = 4;
    public const int EINVAL = 22;
    public const int EIO = 5;

    private const int AfInet = 2;
    private const int SockDgram = 2;
    private const int SockCloexec = 0x80000;
    private const int SolSocket = 1;
    private const int SoSndbuf = 7;
    private const int SoRcvbuf = 8;
    private const int SoSndbufForce = 32;
    private const int SoRcvbufForce = 33;
    private const int SoRcvtimeo = 20;
    private const int SolUdp = 17;
    private const int UdpSegment = 103;
    private const int UdpGro = 104;
    private const int ORdwr = 2;
    private const int ONonblock = 0x800;
    private const int OCloexec = 0x80000;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short IffVnetHdr = 0x4000;
    private const uint TunSetIff = 0x400454ca;
    private const uint TunSetOffload = 0x400454d0;
    private const uint TunFCsum = 0x01;
    private const uint TunFTso4 = 0x02;
    private const short PollIn = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>A 16-byte <c>sockaddr_in</c> for <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static byte[] SockAddr(System.Net.IPAddress address, int port)
    {
        byte[] s = new byte[16];
        s[0] = AfInet;
        s[2] = (byte)(port >> 8);
        s[3] = (byte)port;
        address.GetAddressBytes().CopyTo(s, 4);
        return s;
    }

    /// <summary>
    /// Opens TUN device <paramref name="name"/> in the calling thread's network namespace, non-blocking,
    /// with virtio headers; asks for checksum + TSO4 offload (the kernel then hands over 64 KiB TCP
    /// super-packets). Returns the fd and whether TSO was accepted.
    /// </summary>
    public static (int Fd, bool Tso) OpenTun(string name)
    {
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            int fd = open(path, ORdwr | ONonblock | OCloexec, 0);
            if (fd < 0)
            {
                throw new LinuxException("open /dev/net/tun", Marshal.GetLastPInvokeError());
            }

            byte* request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            Encoding.UTF8.GetBytes(name, new Span<byte>(request, 15));
            *(short*)(request + 16) = IffTun | IffNoPi | IffVnetHdr;
            if (ioctl(fd, TunSetIff, request) != 0)
            {
                int e = Marshal.GetLastPInvokeError();
                _ = close(fd);
                throw new LinuxException($"ioctl(TUNSETIFF) {name}", e);
            }

            // The offload flags are the argument itself, not a pointer to them.
            bool tso = ioctl(fd, TunSetOffload, (void*)(nuint)(TunFCsum | TunFTso4)) == 0;
            return (fd, tso);
        }
    }

    /// <summary>One read; 0 after <paramref name="timeoutMs"/> without a packet.</summary>
    public static int ReadTun(int fd, Span<byte> buffer, int timeoutMs)
    {
        fixed (byte* b = buffer)
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                nint n = read(fd, b, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                int e = Marshal.GetLastPInvokeError();
                if (e != EAGAIN && e != EINTR)
                {
                    throw new LinuxException("read flannel0", e);
                }

                if (attempt == 0)
                {
                    var p = new PollFd { Fd = fd, Events = PollIn };
                    if (poll(&p, 1, timeoutMs) <= 0)
                    {
                        return 0;
                    }
                }
            }

            return 0;
        }
    }

    /// <summary>Writes one packet (virtio header first); the kernel's errno when it refuses it, else 0.</summary>
    public static int WriteTun(int fd, ReadOnlySpan<byte> packet)
    {
        fixed (byte* b = packet)
        {
            return write(fd, b, (nuint)packet.Length) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
    }

    /// <summary>A UDP socket bound to <paramref name="sockAddr"/> with large buffers, a receive timeout and (when the kernel has it) UDP GRO.</summary>
    public static (int Fd, bool Gro) OpenUdp(byte[] sockAddr, int bufferBytes, int receiveTimeoutMs)
    {
        int fd = socket(AfInet, SockDgram | SockCloexec, 0);
        if (fd < 0)
        {
            throw new LinuxException("socket(AF_INET, SOCK_DGRAM)", Marshal.GetLastPInvokeError());
        }

        fixed (byte* a = sockAddr)
        {
            if (bind(fd, a, (uint)sockAddr.Length) != 0)
            {
                int e = Marshal.GetLastPInvokeError();
                _ = close(fd);
                throw new LinuxException($"bind udp {new System.Net.IPAddress(sockAddr.AsSpan(4, 4))}:{(sockAddr[2] << 8) | sockAddr[3]}", e);
            }
        }

        // Room for bursts of a 64 KiB super-packet's segments (the FORCE forms pass rmem_max as root).
        int size = bufferBytes;
        if (setsockopt(fd, SolSocket, SoRcvbufForce, &size, 4) != 0)
        {
            _ = setsockopt(fd, SolSocket, SoRcvbuf, &size, 4);
        }

        if (setsockopt(fd, SolSocket, SoSndbufForce, &size, 4) != 0)
        {
            _ = setsockopt(fd, SolSocket, SoSndbuf, &size, 4);
        }

        long* timeout = stackalloc long[2];
        timeout[0] = receiveTimeoutMs / 1000;
        timeout[1] = receiveTimeoutMs % 1000 * 1000;
        _ = setsockopt(fd, SolSocket, SoRcvtimeo, timeout, 16);
        int one = 1;
        bool gro = setsockopt(fd, SolUdp, UdpGro, &one, 4) == 0;
        return (fd, gro);
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="sockAddr"/>: as one datagram, or, with
    /// <paramref name="segmentLength"/> &gt; 0, as datagrams of that length (the last may be shorter) in one
    /// UDP GSO call. Returns 0 or the errno.
    /// </summary>
    public static int Send(int fd, ReadOnlySpan<byte> data, byte[] sockAddr, int segmentLength)
    {
        // cmsghdr (len 8, level 4, type 4) + a u16 segment size, aligned to 8: 24 bytes.
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        fixed (byte* d = data)
        fixed (byte* a = sockAddr)
        {
            var iov = new IoVec { Base = d, Length = (nuint)data.Length };
            var msg = new MsgHdr { Name = a, NameLength = (uint)sockAddr.Length, Iov = &iov, IovLength = 1 };
            if (segmentLength > 0)
            {
                *(nuint*)control = 18;
                *(int*)(control + 8) = SolUdp;
                *(int*)(control + 12) = UdpSegment;
                *(ushort*)(control + 16) = (ushort)segmentLength;
                msg.Control = control;
                msg.ControlLength = 24;
            }

            return sendmsg(fd, &msg, 0) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
    }

    /// <summary>
    /// Receives into <paramref name="buffer"/>; returns the length (−1 on timeout or interruption) and the
    /// GRO segment size (the length of every datagram but the last; the whole length when not coalesced).
    /// </summary>
    public static (int Length, int SegmentLength) Receive(int fd, Span<byte> buffer)
    {
        byte* control = stackalloc byte[64];
        fixed (byte* b = buffer)
        {
            var iov = new IoVec { Base = b, Length = (nuint)buffer.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            nint n = recvmsg(fd, &msg, 0);
            if (n < 0)
            {
                int e = Marshal.GetLastPInvokeError();
                return e is EAGAIN or EINTR ? (-1, 0) : throw new LinuxException("recvmsg udp", e);
            }

            int segment = (int)n;
            for (nuint offset = 0; offset + 16 <= msg.ControlLength;)
            {
                nuint length = *(nuint*)(control + offset);
                if (length < 16)
                {
                    break;
                }

                if (*(int*)(control + offset + 8) == SolUdp && *(int*)(control + offset + 12) == UdpGro)
                {
                    segment = *(int*)(control + offset + 16);
                }

                offset += (length + 7) & ~(nuint)7;
            }

            return ((int)n, segment);
        }
    }

    public static void Close(int fd) => _ = close(fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int open(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, uint request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte* address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* message, int flags);
}
