using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Flannel.Config;
using Platform.Flannel.Subnets;
using Platform.Linux;
using Platform.Linux.Netlink;

namespace Platform.Flannel.Backends.Udp;

/// <summary>
/// flannel's <c>udp</c> backend (<c>pkg/backend/udp</c>, "debugging only"): a TUN device
/// <c>flannel0</c> with <c>&lt;subnet&gt;.0/&lt;network prefix&gt;</c> and a route for the whole Network
/// through it; a userspace proxy moves packets between the TUN and a UDP socket on port 8285
/// (<c>Port</c>), one IP packet per datagram, to the PublicIP of the lease holding the destination.
/// TTL is decremented as a router would. Unlike flannel's C proxy (one read + one sendto per packet), the
/// TUN is opened with virtio headers and TSO, so a pod's TCP stream arrives as 64 KiB super-packets that
/// are cut into MTU-sized IPv4 packets here and sent with UDP GSO; the receiving side takes runs of
/// datagrams with UDP GRO and merges a flow's consecutive segments back into one super-packet for its TUN.
/// The wire format stays flannel's (see <see cref="TcpOffload"/>). MTU = interface − 28 (outer IPv4 20 +
/// UDP 8). The lease has no BackendType, as flannel writes it.
/// </summary>
internal sealed class UdpBackend : IBackend
{
    public const string DeviceName = "flannel0";

    // flannel's encapOverhead for udp: outer IPv4 header 20 + UDP header 8.
    private const int EncapOverhead = 28;
    private const int DefaultPort = 8285;

    // How long a forwarding thread blocks before checking for shutdown.
    private const int PollMs = 200;

    // Socket buffers: room for bursts of a few 64 KiB super-packets' segments.
    private const int SocketBufferBytes = 4 * 1024 * 1024;

    // One UDP GSO send is one datagram before segmentation: 65535 − 20 (IPv4) − 8 (UDP) bytes, and the
    // kernel's UDP_MAX_SEGMENTS (64 on older kernels).
    private const int MaxUdpPayload = 65507;
    private const int MaxGsoSegments = 64;

    private readonly BackendContext _context;
    private readonly ILogger _log;
    private readonly PeerTable _peers = new(_ => true);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IRtNetlink? _netlink;
    private int _tunFd = -1;
    private int _socketFd = -1;
    private bool _tso;
    private bool _gro;
    private volatile bool _udpGso = true;
    private int _port = DefaultPort;
    private Ip4Net _network;
    private SubnetLease? _own;
    private volatile PeerRoute[] _routes = [];
    private volatile bool _stopped;
    private Thread? _tunToUdp;
    private Thread? _udpToTun;

    public UdpBackend(BackendContext context)
    {
        _context = context;
        _log = context.Logger;
    }

    public Task<BackendRegistration> RegisterNetworkAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        _network = config.Network;
        if (config.Backend is { ValueKind: JsonValueKind.Object } b)
        {
            foreach (JsonProperty p in b.EnumerateObject().Where(p => p.Name.Equals("Port", StringComparison.OrdinalIgnoreCase)))
            {
                _port = p.Value.TryGetInt32(out int port) && port is > 0 and < 65536 ? port : throw new BackendException($"error decoding UDP backend config: Port {p.Value}");
            }
        }

        ExternalInterface iface = _context.ExternalInterface;
        _netlink = _context.Namespace is null ? RtNetlink.Open() : RtNetlink.Open(_context.Namespace);
        // The TUN device belongs to the namespace of the thread that opens /dev/net/tun.
        (_tunFd, _tso) = _context.Namespace is null ? UdpNative.OpenTun(DeviceName) : _context.Namespace.Run(() => UdpNative.OpenTun(DeviceName));
        Link link = _netlink.GetLink(DeviceName) ?? throw new BackendException($"failed to find {DeviceName} after creating it");
        _netlink.SetMtu(link.Index, iface.Mtu - EncapOverhead);

        // Sockets belong to the namespace of the thread that creates them.
        byte[] local = UdpNative.SockAddr(IPAddress.Parse(iface.Address), _port);
        (_socketFd, _gro) = _context.Namespace is null ? UdpNative.OpenUdp(local, SocketBufferBytes, PollMs) : _context.Namespace.Run(() => UdpNative.OpenUdp(local, SocketBufferBytes, PollMs));
        _log.LogInformation("udp backend: TUN {Device} (TSO {Tso}), UDP {Address}:{Port} (GRO {Gro})", DeviceName, _tso, iface.Address, _port, _gro);
        return Task.FromResult(new BackendRegistration(null, null, iface.Mtu - EncapOverhead));
    }

    public async Task HandleLeasesAsync(LeaseBatch batch, SubnetLease ownLease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(ownLease);
        IRtNetlink netlink = _netlink ?? throw new InvalidOperationException("RegisterNetworkAsync first");
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_own is null)
            {
                _own = ownLease;
                ConfigureTun(netlink);
                _tunToUdp = new Thread(TunToUdp) { IsBackground = true, Name = "flannel-udp-tun-to-udp" };
                _udpToTun = new Thread(UdpToTun) { IsBackground = true, Name = "flannel-udp-udp-to-tun" };
                _tunToUdp.Start();
                _udpToTun.Start();
            }

            (List<SubnetLease> removed, List<SubnetLease> added) = _peers.Apply(batch, ownLease);
            foreach (SubnetLease lease in removed)
            {
                _log.LogInformation("Subnet removed: {Subnet}", lease.Subnet.ToString());
            }

            foreach (SubnetLease lease in added)
            {
                _log.LogInformation("Subnet added: {Subnet} via {PublicIP}:{Port}", lease.Subnet.ToString(), lease.Attrs.PublicIP, _port);
            }

            // The forwarding thread reads this array without locks; replace it whole.
            _routes = [.. _peers.Peers.Select(l => new PeerRoute(l.Subnet, new IPEndPoint(IPAddress.Parse(l.Attrs.PublicIP), _port)))];
        }
        finally
        {
            _lock.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _tunToUdp?.Join();
        _udpToTun?.Join();
        if (_socketFd >= 0)
        {
            UdpNative.Close(_socketFd);
        }

        // Closing the (non-persistent) TUN queue removes flannel0.
        if (_tunFd >= 0)
        {
            UdpNative.Close(_tunFd);
        }

        _netlink?.Dispose();
        _lock.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Decrements the TTL of an IPv4 packet and patches the header checksum (RFC 1624); false when it reaches 0.</summary>
    internal static bool DecrementTtl(Span<byte> packet)
    {
        if (packet.Length < 20 || packet[0] >> 4 != 4 || packet[8] <= 1)
        {
            return false;
        }

        packet[8]--;
        // The TTL is the high byte of header word 4: lowering it by one raises the one's complement sum by 0x0100.
        uint sum = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]) + 0x0100u;
        sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)sum);
        return true;
    }

    /// <summary>flannel's <c>configureIface</c>: subnet.0 with the Network's prefix, MTU, up, route for the Network.</summary>
    private void ConfigureTun(IRtNetlink netlink)
    {
        Link link = netlink.GetLink(DeviceName)!;
        var address = new InterfaceAddress(link.Index, PeerTable.ToIp(_own!.Subnet.Address), _network.PrefixLength);
        if (!netlink.GetAddresses(link.Index).Contains(address))
        {
            netlink.AddAddress(address);
        }

        netlink.SetLinkUp(link.Index, true);
        try
        {
            // The kernel adds the prefix route with the address; an explicit one is kept in case it is not there.
            netlink.AddRoute(new Route { Destination = PeerTable.ToIp(_network.Address), PrefixLength = _network.PrefixLength, OutputIndex = link.Index });
        }
        catch (LinuxException e) when (e.Errno == 17)
        {
            // EEXIST: the kernel's route for the address is there.
        }
    }

    /// <summary>
    /// TUN → UDP. With TSO the kernel hands over TCP super-packets (up to 64 KiB): they are cut into
    /// MSS-sized packets here, each a complete IPv4 packet of at most the TUN MTU (what flannel's peers
    /// expect in a datagram), and sent in one UDP GSO call per ≤ 64 KiB. Other packets get their partial
    /// checksum completed and go one per datagram.
    /// </summary>
    private void TunToUdp()
    {
        byte[] buffer = new byte[VirtioNetHeader.Length + 65535];
        // Segments of one super-packet: at most 65535 bytes of payload plus a header per segment.
        byte[] segments = new byte[2 * 65536];
        while (!_stopped)
        {
            int n;
            try
            {
                n = UdpNative.ReadTun(_tunFd, buffer, PollMs);
            }
            catch (LinuxException e)
            {
                if (!_stopped)
                {
                    _log.LogError("udp backend: reading {Device}: {Error}", DeviceName, e.Message);
                }

                return;
            }

            if (n < VirtioNetHeader.Length + 20)
            {
                continue;
            }

            VirtioNetHeader header = VirtioNetHeader.Read(buffer);
            Span<byte> packet = buffer.AsSpan(VirtioNetHeader.Length, n - VirtioNetHeader.Length);
            if (packet[0] >> 4 != 4)
            {
                continue;
            }

            PeerRoute? peer = Lookup(BinaryPrimitives.ReadUInt32BigEndian(packet[16..]));
            if (peer is null || !DecrementTtl(packet))
            {
                // No lease holds the destination (or TTL expired): dropped, as flannel's proxy does.
                continue;
            }

            if ((header.GsoType & ~VirtioNetHeader.GsoEcn) == VirtioNetHeader.GsoTcpV4)
            {
                (int count, int segmentLength) = TcpOffload.Segment(packet, header.GsoSize, segments);
                if (count > 0)
                {
                    SendSegments(segments, count, segmentLength, peer);
                }

                continue;
            }

            if (header.GsoType != VirtioNetHeader.GsoNone || ((header.Flags & VirtioNetHeader.NeedsChecksum) != 0 && !TcpOffload.CompleteChecksum(packet, header)))
            {
                continue;
            }

            Send(packet, peer.SockAddr, 0);
        }
    }

    private PeerRoute? Lookup(uint destination)
    {
        foreach (PeerRoute route in _routes)
        {
            if (route.Subnet.Contains(destination))
            {
                return route;
            }
        }

        return null;
    }

    /// <summary>Sends <paramref name="count"/> back-to-back segments, as few UDP GSO calls as the 64 KiB datagram limit allows.</summary>
    private void SendSegments(byte[] segments, int count, int segmentLength, PeerRoute peer)
    {
        int total = ((count - 1) * segmentLength) + SegmentLengthAt(segments, (count - 1) * segmentLength);
        // A UDP GSO send is one IP datagram before segmentation: ≤ 65507 bytes of UDP payload, ≤ 64 segments.
        int perCall = Math.Min(MaxGsoSegments, MaxUdpPayload / segmentLength);
        for (int offset = 0; offset < total;)
        {
            int length = Math.Min(perCall * segmentLength, total - offset);
            ReadOnlySpan<byte> chunk = segments.AsSpan(offset, length);
            if (!_udpGso || length <= segmentLength)
            {
                for (int i = 0; i < length; i += segmentLength)
                {
                    Send(chunk.Slice(i, Math.Min(segmentLength, length - i)), peer.SockAddr, 0);
                }
            }
            else if (Send(chunk, peer.SockAddr, segmentLength) is UdpNative.EINVAL or UdpNative.EIO)
            {
                // The kernel (or the route's device) has no UDP GSO: datagram by datagram from now on.
                _udpGso = false;
                _log.LogInformation("udp backend: UDP GSO refused; sending one datagram per packet");
                continue;
            }

            offset += length;
        }
    }

    private static int SegmentLengthAt(byte[] segments, int offset) => BinaryPrimitives.ReadUInt16BigEndian(segments.AsSpan(offset + 2));

    private int Send(ReadOnlySpan<byte> data, byte[] sockAddr, int segmentLength)
    {
        int e = UdpNative.Send(_socketFd, data, sockAddr, segmentLength);
        if (e != 0 && !(segmentLength > 0 && e is UdpNative.EINVAL or UdpNative.EIO))
        {
            _log.LogDebug("udp backend: send: errno {Errno}", e);
        }

        return e;
    }

    /// <summary>
    /// UDP → TUN. With UDP GRO one receive returns a run of same-sized datagrams; consecutive segments of
    /// a TCP flow are merged into one super-packet for the TUN (the kernel forwards it to the pod as one),
    /// anything else is written as it came.
    /// </summary>
    private void UdpToTun()
    {
        byte[] buffer = new byte[65536];
        byte[] plain = new byte[VirtioNetHeader.Length + 65536];
        var coalescer = new TcpCoalescer();
        TcpCoalescer.Sink write = WriteTun;
        while (!_stopped)
        {
            int n;
            int segmentLength;
            try
            {
                (n, segmentLength) = UdpNative.Receive(_socketFd, buffer);
            }
            catch (LinuxException e)
            {
                if (!_stopped)
                {
                    _log.LogError("udp backend: receive: {Error}", e.Message);
                }

                return;
            }

            if (n <= 0)
            {
                continue;
            }

            segmentLength = segmentLength <= 0 ? n : segmentLength;
            for (int offset = 0; offset < n; offset += segmentLength)
            {
                ReadOnlySpan<byte> datagram = buffer.AsSpan(offset, Math.Min(segmentLength, n - offset));
                if (datagram.Length >= 20 && datagram[0] >> 4 == 4)
                {
                    if (_tso)
                    {
                        coalescer.Add(datagram, write);
                    }
                    else
                    {
                        WritePlain(datagram, plain);
                    }
                }
            }

            coalescer.Flush(write);
        }
    }

    /// <summary>One packet as it came (a zero virtio header: the kernel verifies its checksums).</summary>
    private void WritePlain(ReadOnlySpan<byte> packet, byte[] scratch)
    {
        scratch.AsSpan(0, VirtioNetHeader.Length).Clear();
        packet.CopyTo(scratch.AsSpan(VirtioNetHeader.Length));
        WriteTun(scratch.AsSpan(0, VirtioNetHeader.Length + packet.Length));
    }

    private void WriteTun(ReadOnlySpan<byte> packetWithHeader)
    {
        int e = UdpNative.WriteTun(_tunFd, packetWithHeader);
        if (e != 0)
        {
            _log.LogDebug("udp backend: write to {Device}: errno {Errno} ({Length} bytes, {Header})", DeviceName, e, packetWithHeader.Length, VirtioNetHeader.Read(packetWithHeader));
        }
    }

    /// <summary>A peer subnet and its <c>sockaddr_in</c> (built once per lease, not per packet).</summary>
    private sealed record PeerRoute(Ip4Net Subnet, IPEndPoint EndPoint)
    {
        public byte[] SockAddr { get; } = UdpNative.SockAddr(EndPoint.Address, EndPoint.Port);
    }
}
