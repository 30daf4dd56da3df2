using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
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
/// TTL is decremented as a router would. MTU = interface − 28 (outer IPv4 20 + UDP 8). The lease has no
/// BackendType, as flannel writes it.
/// </summary>
internal sealed class UdpBackend : IBackend
{
    public const string DeviceName = "flannel0";

    // flannel's encapOverhead for udp: outer IPv4 header 20 + UDP header 8.
    private const int EncapOverhead = 28;
    private const int DefaultPort = 8285;

    // How long a forwarding thread blocks before checking for shutdown.
    private const int PollMs = 200;

    private readonly BackendContext _context;
    private readonly ILogger _log;
    private readonly PeerTable _peers = new(_ => true);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IRtNetlink? _netlink;
    private TunDevice? _tun;
    private Socket? _socket;
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
        _tun = RtNetlink.CreateTun(DeviceName, _context.Namespace);
        Link link = _netlink.GetLink(DeviceName) ?? throw new BackendException($"failed to find {DeviceName} after creating it");
        _netlink.SetMtu(link.Index, iface.Mtu - EncapOverhead);

        // Sockets belong to the namespace of the thread that creates them.
        _socket = _context.Namespace is null ? CreateSocket(iface.Address, _port) : _context.Namespace.Run(() => CreateSocket(iface.Address, _port));
        _log.LogInformation("udp backend: TUN {Device}, UDP {Address}:{Port}", DeviceName, iface.Address, _port);
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
        _socket?.Dispose();
        _tun?.Dispose();
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

    private static Socket CreateSocket(string address, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(address), port));
            socket.ReceiveTimeout = PollMs;
            // Room for bursts: the TUN side can hand over packets faster than one thread drains them.
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
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

    private void TunToUdp()
    {
        byte[] buffer = new byte[65536];
        while (!_stopped)
        {
            int n;
            try
            {
                n = _tun!.Read(buffer, PollMs);
            }
            catch (Exception e) when (e is LinuxException or ObjectDisposedException)
            {
                if (!_stopped)
                {
                    _log.LogError("udp backend: reading {Device}: {Error}", DeviceName, e.Message);
                }

                return;
            }

            if (n < 20 || buffer[0] >> 4 != 4)
            {
                continue;
            }

            uint destination = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(16));
            PeerRoute? peer = null;
            foreach (PeerRoute route in _routes)
            {
                if (route.Subnet.Contains(destination))
                {
                    peer = route;
                    break;
                }
            }

            if (peer is null || !DecrementTtl(buffer.AsSpan(0, n)))
            {
                // No lease holds the destination (or TTL expired): dropped, as flannel's proxy does.
                continue;
            }

            try
            {
                _socket!.SendTo(buffer.AsSpan(0, n), SocketFlags.None, peer.Address);
            }
            catch (SocketException e)
            {
                _log.LogDebug("udp backend: send to {Peer}: {Error}", peer.EndPoint, e.Message);
            }
        }
    }

    private void UdpToTun()
    {
        byte[] buffer = new byte[65536];
        while (!_stopped)
        {
            int n;
            try
            {
                // Blocking receive with SO_RCVTIMEO (set at creation): one syscall per datagram under load.
                n = _socket!.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
            {
                continue;
            }
            catch (SocketException e)
            {
                _log.LogDebug("udp backend: receive: {Error}", e.Message);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            if (n < 20 || buffer[0] >> 4 != 4)
            {
                continue;
            }

            try
            {
                _tun!.Write(buffer.AsSpan(0, n));
            }
            catch (LinuxException e)
            {
                _log.LogDebug("udp backend: write to {Device}: {Error}", DeviceName, e.Message);
            }
        }
    }

    /// <summary>A peer subnet and its serialized UDP address (SendTo with a SocketAddress allocates nothing).</summary>
    private sealed record PeerRoute(Ip4Net Subnet, IPEndPoint EndPoint)
    {
        public SocketAddress Address { get; } = EndPoint.Serialize();
    }
}
