using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Flannel.Config;
using Platform.Flannel.Subnets;
using Platform.Linux;
using Platform.Linux.Netlink;

namespace Platform.Flannel.Backends.Vxlan;

/// <summary>
/// flannel's <c>vxlan</c> backend (<c>pkg/backend/vxlan</c>): one <c>flannel.&lt;VNI&gt;</c> device
/// (local = interface address, dev = interface, dstport <c>Port</c> or the kernel's 8472, learning off,
/// optional GBP), address <c>&lt;subnet&gt;.0/32</c>, MTU = interface − 50. Per peer: a permanent
/// neighbour <c>peer.0 → VtepMAC</c>, an FDB entry <c>VtepMAC → PublicIP</c>, then the route
/// <c>peerSubnet via peer.0 dev flannel.N onlink</c>; with <c>DirectRouting</c> a peer whose PublicIP is
/// directly reachable (route lookup without gateway) gets <c>peerSubnet via PublicIP</c> instead. The
/// device is watched (RTNLGRP_LINK) and recreated with the same MAC, address and peers if deleted.
/// </summary>
internal sealed class VxlanBackend : IBackend
{
    public const string TypeName = "vxlan";

    // flannel's encapOverhead: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
    private const int EncapOverhead = 50;

    private readonly BackendContext _context;
    private readonly ILogger _log;
    private readonly PeerTable _peers = new(l => l.Attrs.BackendType == TypeName);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private IRtNetlink? _netlink;
    private LinkEventSubscription? _events;
    private Task? _watch;
    private VxlanOptions? _device;
    private int _deviceIndex;
    private Ip4Net _network;
    private SubnetLease? _own;
    private bool _directRouting;

    public VxlanBackend(BackendContext context)
    {
        _context = context;
        _log = context.Logger;
    }

    /// <summary>The device's name, <c>flannel.&lt;VNI&gt;</c>.</summary>
    public string? DeviceName => _device?.Name;

    public async Task<BackendRegistration> RegisterNetworkAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        VxlanConfig options = VxlanConfig.Parse(config.Backend);
        _directRouting = options.DirectRouting;
        _network = config.Network;
        ExternalInterface iface = _context.ExternalInterface;
        _netlink = _context.Namespace is null ? RtNetlink.Open() : RtNetlink.Open(_context.Namespace);
        Link ext = _netlink.GetLink(iface.Name) ?? throw new BackendException($"failed to find interface {iface.Name}");
        int mtu = options.Mtu > 0 ? options.Mtu : iface.Mtu - EncapOverhead;
        var wanted = new VxlanOptions
        {
            Name = $"flannel.{options.Vni}",
            Vni = options.Vni,
            Local = IPAddress.Parse(iface.Address),
            DeviceIndex = ext.Index,
            Port = options.Port,
            Learning = options.Learning,
            Gbp = options.Gbp,
            Mtu = mtu,
        };

        // Subscribe before creating, so a deletion right after creation is not missed.
        _events = RtNetlink.SubscribeLinkEvents(_context.Namespace);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            Link device = EnsureDevice(_netlink, wanted);
            _device = wanted with { HardwareAddress = device.HardwareAddress };
            _deviceIndex = device.Index;
        }
        finally
        {
            _lock.Release();
        }

        _watch = WatchDeviceAsync(_events, _stop.Token);
        string mac = FormatMac(_device.HardwareAddress!);
        string data = $"{{\"VNI\":{options.Vni},\"VtepMAC\":\"{mac}\"}}";
        return new BackendRegistration(TypeName, data, iface.Mtu - EncapOverhead);
    }

    public async Task HandleLeasesAsync(LeaseBatch batch, SubnetLease ownLease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(ownLease);
        IRtNetlink netlink = _netlink ?? throw new InvalidOperationException("RegisterNetworkAsync first");
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_own is null || _own.Subnet != ownLease.Subnet)
            {
                _own = ownLease;
                ConfigureOwnAddress(netlink);
            }

            (List<SubnetLease> removed, List<SubnetLease> added) = _peers.Apply(batch, ownLease);
            foreach (SubnetLease lease in removed)
            {
                RemovePeer(netlink, lease);
            }

            foreach (SubnetLease lease in added)
            {
                AddPeer(netlink, lease);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _events?.Dispose();
        if (_watch is not null)
        {
            await _watch.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        _netlink?.Dispose();
        _stop.Dispose();
        _lock.Dispose();
    }

    internal static string FormatMac(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>flannel's <c>ensureLink</c>: reuse a compatible existing device (keeping its MAC), else (re)create it.</summary>
    private Link EnsureDevice(IRtNetlink netlink, VxlanOptions wanted)
    {
        if (netlink.GetLink(wanted.Name) is { } existing)
        {
            VxlanInfo? info = existing.Vxlan;
            bool compatible = existing.Kind == "vxlan" && info is not null && info.Vni == wanted.Vni
                && Equals(info.Local, wanted.Local) && info.DeviceIndex == wanted.DeviceIndex
                && info.Port == (wanted.Port == 0 ? 8472 : wanted.Port) && info.Gbp == wanted.Gbp && info.Learning == wanted.Learning;
            if (compatible)
            {
                if (existing.Mtu != wanted.Mtu)
                {
                    netlink.SetMtu(existing.Index, wanted.Mtu);
                }

                netlink.SetLinkUp(existing.Index, true);
                return netlink.GetLink(existing.Index) ?? existing;
            }

            _log.LogWarning("{Device} is in an incompatible state, re-creating it", wanted.Name);
            netlink.DeleteLink(existing.Index);
        }

        Link created = netlink.AddVxlan(wanted with { HardwareAddress = wanted.HardwareAddress ?? MacAddresses.RandomLocal() });
        DisableRouterAdvertisements(created.Name);
        netlink.SetLinkUp(created.Index, true);
        _log.LogInformation("Created vxlan device {Device} (VNI {Vni}, MAC {Mac})", created.Name, wanted.Vni, FormatMac(created.HardwareAddress!));
        return created;
    }

    /// <summary>
    /// flannel sets <c>accept_ra=0</c> on the device: router advertisements arriving over the overlay must
    /// not configure it. /proc/sys/net follows the namespace of the thread that opens the file.
    /// </summary>
    private void DisableRouterAdvertisements(string device)
    {
        void Write() => File.WriteAllText($"/proc/sys/net/ipv6/conf/{device}/accept_ra", "0");
        try
        {
            if (_context.Namespace is null)
            {
                Write();
            }
            else
            {
                _context.Namespace.Run(Write);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No IPv6 in this kernel/namespace: nothing to disable.
            _log.LogDebug("accept_ra on {Device}: {Error}", device, e.Message);
        }
    }

    /// <summary>flannel's <c>configureIPv4</c>: <c>subnet.0/32</c> on the device, other addresses of the Network removed.</summary>
    private void ConfigureOwnAddress(IRtNetlink netlink)
    {
        var ip = PeerTable.ToIp(_own!.Subnet.Address);
        IReadOnlyList<InterfaceAddress> present = netlink.GetAddresses(_deviceIndex);
        foreach (InterfaceAddress stale in present.Where(a => a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            && _network.Contains(Ip4Net.ToUInt32(a.Address)) && !(a.Address.Equals(ip) && a.PrefixLength == 32)))
        {
            netlink.DeleteAddress(stale);
        }

        if (!present.Any(a => a.Address.Equals(ip) && a.PrefixLength == 32))
        {
            netlink.AddAddress(new InterfaceAddress(_deviceIndex, ip, 32));
        }

        netlink.SetLinkUp(_deviceIndex, true);
    }

    private bool TryPeer(SubnetLease lease, out PhysicalAddress mac, out bool direct)
    {
        mac = PhysicalAddress.None;
        direct = false;
        try
        {
            using JsonDocument data = JsonDocument.Parse(lease.Attrs.BackendData ?? "{}");
            JsonElement vtep = data.RootElement.EnumerateObject().FirstOrDefault(p => p.Name.Equals("VtepMAC", StringComparison.OrdinalIgnoreCase)).Value;
            mac = PhysicalAddress.Parse(vtep.GetString()!.Replace(':', '-'));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            _log.LogError("error decoding subnet lease JSON: {Subnet}: {Error}", lease.Subnet.ToString(), e.Message);
            return false;
        }

        if (_directRouting)
        {
            // flannel's ip.DirectRouting: the kernel reaches the PublicIP without a gateway.
            Route? route = _netlink!.LookupRoute(IPAddress.Parse(lease.Attrs.PublicIP));
            direct = route is not null && route.Gateway is null;
        }

        return true;
    }

    private Route VxlanRoute(SubnetLease lease) => new()
    {
        Destination = PeerTable.ToIp(lease.Subnet.Address),
        PrefixLength = lease.Subnet.PrefixLength,
        Gateway = PeerTable.ToIp(lease.Subnet.Address),
        OutputIndex = _deviceIndex,
        OnLink = true,
        Scope = RouteScope.Universe,
    };

    private static Route DirectRoute(SubnetLease lease) => new()
    {
        Destination = PeerTable.ToIp(lease.Subnet.Address),
        PrefixLength = lease.Subnet.PrefixLength,
        Gateway = IPAddress.Parse(lease.Attrs.PublicIP),
    };

    private void AddPeer(IRtNetlink netlink, SubnetLease lease)
    {
        if (!TryPeer(lease, out PhysicalAddress mac, out bool direct))
        {
            return;
        }

        try
        {
            if (direct)
            {
                _log.LogInformation("Adding direct route to subnet: {Subnet} PublicIP: {PublicIP}", lease.Subnet.ToString(), lease.Attrs.PublicIP);
                netlink.ReplaceRoute(DirectRoute(lease));
                return;
            }

            _log.LogInformation("adding subnet: {Subnet} PublicIP: {PublicIP} VtepMAC: {Mac}", lease.Subnet.ToString(), lease.Attrs.PublicIP, FormatMac(mac));
            netlink.ReplaceNeighbour(new Neighbour(_deviceIndex, PeerTable.ToIp(lease.Subnet.Address), mac));
            netlink.ReplaceFdb(new FdbEntry(_deviceIndex, mac, IPAddress.Parse(lease.Attrs.PublicIP)));
            // Last: with the neighbour in place the kernel never has to resolve the onlink gateway.
            netlink.ReplaceRoute(VxlanRoute(lease));
        }
        catch (LinuxException e)
        {
            _log.LogError("Error adding subnet {Subnet}: {Error}", lease.Subnet.ToString(), e.Message);
        }
    }

    private void RemovePeer(IRtNetlink netlink, SubnetLease lease)
    {
        if (!TryPeer(lease, out PhysicalAddress mac, out bool direct))
        {
            return;
        }

        _log.LogInformation("removing subnet: {Subnet} PublicIP: {PublicIP}", lease.Subnet.ToString(), lease.Attrs.PublicIP);
        // Try every entry; one failing (already gone) does not stop the others.
        Try(() => netlink.DeleteRoute(direct ? DirectRoute(lease) : VxlanRoute(lease)));
        if (!direct)
        {
            Try(() => netlink.DeleteNeighbour(new Neighbour(_deviceIndex, PeerTable.ToIp(lease.Subnet.Address), mac)));
            Try(() => netlink.DeleteFdb(new FdbEntry(_deviceIndex, mac, IPAddress.Parse(lease.Attrs.PublicIP))));
        }
    }

    private void Try(Action action)
    {
        try
        {
            action();
        }
        catch (LinuxException e) when (e.Errno is 2 or 3 or 19)
        {
            // ENOENT / ESRCH / ENODEV: already gone.
        }
        catch (LinuxException e)
        {
            _log.LogError("{Error}", e.Message);
        }
    }

    private async Task WatchDeviceAsync(LinkEventSubscription events, CancellationToken stop)
    {
        await foreach (LinkEvent e in events.Events.ReadAllAsync(stop))
        {
            bool gone = e.Type == LinkEventType.Deleted && e.Link.Index == _deviceIndex
                || e.Type == LinkEventType.Overflow && _netlink!.GetLink(_deviceIndex) is null;
            if (!gone)
            {
                continue;
            }

            _log.LogWarning("vxlan device {Device} was deleted, re-creating it", _device!.Name);
            await _lock.WaitAsync(stop);
            try
            {
                Link device = EnsureDevice(_netlink!, _device);
                _deviceIndex = device.Index;
                if (_own is not null)
                {
                    ConfigureOwnAddress(_netlink!);
                }

                foreach (SubnetLease lease in _peers.Peers)
                {
                    AddPeer(_netlink!, lease);
                }
            }
            catch (LinuxException ex)
            {
                _log.LogError("Failed to re-create {Device}: {Error}", _device.Name, ex.Message);
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}

/// <summary>The <c>Backend</c> options of the vxlan backend, field names case-insensitive as Go's encoding/json.</summary>
internal sealed record VxlanConfig(uint Vni, int Port, bool Gbp, bool DirectRouting, bool Learning, int Mtu)
{
    public static VxlanConfig Parse(JsonElement? backend)
    {
        uint vni = 1;
        int port = 0;
        bool gbp = false, direct = false, learning = false;
        int mtu = 0;
        if (backend is { ValueKind: JsonValueKind.Object } b)
        {
            foreach (JsonProperty p in b.EnumerateObject())
            {
                try
                {
                    switch (p.Name.ToUpperInvariant())
                    {
                        case "VNI":
                            vni = p.Value.GetUInt32();
                            break;
                        case "PORT":
                            port = p.Value.GetInt32();
                            break;
                        case "GBP":
                            gbp = p.Value.GetBoolean();
                            break;
                        case "DIRECTROUTING":
                            direct = p.Value.GetBoolean();
                            break;
                        case "LEARNING":
                            learning = p.Value.GetBoolean();
                            break;
                        case "MTU":
                            mtu = p.Value.GetInt32();
                            break;
                        default:
                            break;
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException)
                {
                    throw new BackendException($"failed to decode VXLAN backend config: {p.Name}: {e.Message}", e);
                }
            }
        }

        if (vni == 0 || vni > 0xffffff)
        {
            throw new BackendException($"failed to decode VXLAN backend config: VNI {vni} out of range 1..16777215");
        }

        return new VxlanConfig(vni, port, gbp, direct, learning, mtu);
    }
}
