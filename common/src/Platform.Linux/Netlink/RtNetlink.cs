using System.Text;
using System.Threading.Channels;
using Platform.Linux.Netns;
using static Tmds.Linux.LibC;

namespace Platform.Linux.Netlink;

/// <summary>Opens rtnetlink handles, link-event subscriptions and TUN devices, per network namespace.</summary>
public static class RtNetlink
{
    /// <summary>A handle for the calling thread's network namespace.</summary>
    public static IRtNetlink Open() => new RtNetlinkClient(NetlinkSocket.Open());

    /// <summary>A handle bound to <paramref name="ns"/> for its whole life, usable from any thread.</summary>
    public static IRtNetlink Open(NetworkNamespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.Run(Open);
    }

    /// <summary>
    /// Subscribes to RTNLGRP_LINK of <paramref name="ns"/> (the caller's when null): every RTM_NEWLINK /
    /// RTM_DELLINK the kernel multicasts from now on arrives on <see cref="LinkEventSubscription.Events"/>.
    /// </summary>
    public static LinkEventSubscription SubscribeLinkEvents(NetworkNamespace? ns = null)
    {
        NetlinkSocket socket = ns is null ? NetlinkSocket.Open(Nl.RtmgrpLink) : ns.Run(() => NetlinkSocket.Open(Nl.RtmgrpLink));
        return new LinkEventSubscription(socket);
    }

    /// <summary>
    /// Creates a TUN device (IFF_TUN | IFF_NO_PI: plain IP packets) called <paramref name="name"/> in
    /// <paramref name="ns"/> (the caller's when null) via /dev/net/tun and TUNSETIFF. The device lives as
    /// long as the returned handle.
    /// </summary>
    public static TunDevice CreateTun(string name, NetworkNamespace? ns = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > 15)
        {
            throw new ArgumentException($"interface name '{name}' is longer than 15 bytes", nameof(name));
        }

        // The netns of a tun device is the one of the thread that opened /dev/net/tun.
        return ns is null ? TunDevice.Create(name) : ns.Run(() => TunDevice.Create(name));
    }
}

/// <summary>
/// Link events of one namespace, read by a background thread until <see cref="Dispose"/>. When the
/// kernel reports an overflow (ENOBUFS: events were lost) a synthetic event with
/// <see cref="LinkEventType.Overflow"/> is delivered so consumers re-check what they care about.
/// </summary>
public sealed class LinkEventSubscription : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly Channel<LinkEvent> _events = Channel.CreateUnbounded<LinkEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Thread _reader;
    private volatile bool _stopped;

    internal LinkEventSubscription(NetlinkSocket socket)
    {
        _socket = socket;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "rtnetlink-link-events" };
        _reader.Start();
    }

    public ChannelReader<LinkEvent> Events => _events.Reader;

    public void Dispose()
    {
        _stopped = true;
        if (Thread.CurrentThread != _reader)
        {
            _reader.Join();
        }

        _socket.Dispose();
    }

    private void ReadLoop()
    {
        try
        {
            while (!_stopped)
            {
                List<NetlinkMessage>? messages;
                try
                {
                    // 100 ms: how long Dispose waits at most for this thread.
                    messages = _socket.ReceiveEvents(100);
                }
                catch (LinuxException e) when (e.Errno == ENOBUFS)
                {
                    _events.Writer.TryWrite(new LinkEvent(LinkEventType.Overflow, new Link(0, "", 0, 0, null, null, 0, null)));
                    continue;
                }

                foreach (NetlinkMessage m in messages ?? [])
                {
                    if (m.Type is Nl.RtmNewLink or Nl.RtmDelLink && m.Payload.Length >= Nl.IfInfoMsgLength)
                    {
                        _events.Writer.TryWrite(new LinkEvent(m.Type == Nl.RtmNewLink ? LinkEventType.NewOrChanged : LinkEventType.Deleted, RtNetlinkClient.ParseLink(m.Payload)));
                    }
                }
            }

            _events.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _events.Writer.TryComplete(e);
        }
    }
}

/// <summary>An open TUN device: reads and writes whole IP packets. Closing it removes the device.</summary>
public sealed unsafe class TunDevice : IDisposable
{
    // TUNSETIFF = _IOW('T', 202, int); struct ifreq is 40 bytes: name[16], then short ifr_flags.
    private const int TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const int IfReqLength = 40;

    private int _fd;

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public string Name { get; }

    internal static TunDevice Create(string name)
    {
        byte[] path = "/dev/net/tun\0"u8.ToArray();
        int fd;
        fixed (byte* p = path)
        {
            // Non-blocking: Read tries the packet first and polls only when the queue is empty (one syscall per packet under load).
            fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK, 0);
        }

        if (fd < 0)
        {
            throw new LinuxException("open /dev/net/tun", errno);
        }

        byte* request = stackalloc byte[IfReqLength];
        new Span<byte>(request, IfReqLength).Clear();
        Encoding.UTF8.GetBytes(name, new Span<byte>(request, 15));
        *(short*)(request + 16) = IffTun | IffNoPi;
        if (ioctl(fd, TunSetIff, request) != 0)
        {
            int e = errno;
            _ = close(fd);
            throw new LinuxException($"ioctl(TUNSETIFF) {name}", e);
        }

        return new TunDevice(fd, name);
    }

    /// <summary>Reads one packet into <paramref name="buffer"/>; waits at most <paramref name="timeoutMs"/>, returning 0 on timeout.</summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        fixed (byte* b = buffer)
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                long n = read(Fd, b, buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                int e = errno;
                if (e != EAGAIN && e != EINTR)
                {
                    throw new LinuxException($"read {Name}", e);
                }

                if (attempt == 0)
                {
                    Tmds.Linux.pollfd p = default;
                    p.fd = Fd;
                    p.events = POLLIN;
                    int ready = poll(&p, 1, timeoutMs);
                    if (ready == 0 || (ready < 0 && errno == EINTR))
                    {
                        return 0;
                    }

                    if (ready < 0)
                    {
                        throw new LinuxException($"poll {Name}", errno);
                    }
                }
            }

            return 0;
        }
    }

    /// <summary>Writes one IP packet into the kernel, as if received on the device.</summary>
    public void Write(ReadOnlySpan<byte> packet)
    {
        fixed (byte* b = packet)
        {
            if (write(Fd, b, packet.Length) < 0)
            {
                throw new LinuxException($"write {Name}", errno);
            }
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    private int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            return _fd;
        }
    }
}
