using System.Net;
using System.Net.NetworkInformation;

namespace Platform.Linux.Netlink;

/// <summary>
/// rtnetlink (NETLINK_ROUTE) requests against one network namespace: the namespace the handle was
/// opened in (<see cref="RtNetlink.Open(Netns.NetworkNamespace)"/>), whichever thread calls it later.
/// Every call is one request answered by the kernel before it returns (ACK or dump); failures throw
/// <see cref="LinuxException"/> with the errno and the operation (e.g. <c>RTM_NEWLINK flannel.1</c>).
/// Calls are serialised on the handle, so it may be shared between threads.
/// </summary>
public interface IRtNetlink : IDisposable
{
    // ---- links ----

    /// <summary>All links (RTM_GETLINK dump).</summary>
    public IReadOnlyList<Link> GetLinks();

    /// <summary>The link called <paramref name="name"/>, or null.</summary>
    public Link? GetLink(string name);

    /// <summary>The link with <paramref name="index"/>, or null.</summary>
    public Link? GetLink(int index);

    /// <summary>Creates a veth pair; the peer is created in <paramref name="peerNamespace"/> when given. Returns the local end.</summary>
    public Link AddVeth(string name, string peerName, Netns.NetworkNamespace? peerNamespace = null);

    /// <summary>
    /// Creates a bridge with a fixed random MAC. Without one the kernel gives a bridge the lowest MAC of
    /// its ports and changes it when that port leaves: neighbours holding the old MAC for the bridge's own
    /// addresses then lose it until their ARP entries expire (tens of seconds).
    /// </summary>
    public Link AddBridge(string name);

    public Link AddDummy(string name);

    /// <summary>Creates a VXLAN device (IFLA_INFO_KIND "vxlan").</summary>
    public Link AddVxlan(VxlanOptions options);

    /// <summary>Sets IFF_UP or clears it.</summary>
    public void SetLinkUp(int index, bool up);

    public void SetMtu(int index, int mtu);

    /// <summary>Enslaves the link to a bridge; 0 releases it.</summary>
    public void SetMaster(int index, int masterIndex);

    public void SetHardwareAddress(int index, PhysicalAddress address);

    /// <summary>Moves the link into another namespace (IFLA_NET_NS_FD); it disappears from this handle's view.</summary>
    public void SetNamespace(int index, Netns.NetworkNamespace target);

    public void DeleteLink(int index);

    // ---- addresses ----

    /// <summary>Addresses of one link, or of all links when <paramref name="index"/> is 0. IPv4 and IPv6.</summary>
    public IReadOnlyList<InterfaceAddress> GetAddresses(int index = 0);

    public void AddAddress(InterfaceAddress address);

    public void DeleteAddress(InterfaceAddress address);

    // ---- routes ----

    /// <summary>Routes of a table (default main) and family (IPv4 by default); cloned/cache routes are left out.</summary>
    public IReadOnlyList<Route> GetRoutes(int table = Route.MainTable, System.Net.Sockets.AddressFamily family = System.Net.Sockets.AddressFamily.InterNetwork);

    /// <summary>The kernel's route choice for <paramref name="destination"/> (RTM_GETROUTE, like <c>ip route get</c>), or null when unreachable.</summary>
    public Route? LookupRoute(IPAddress destination);

    /// <summary>NLM_F_CREATE|NLM_F_EXCL: fails with EEXIST when the route exists.</summary>
    public void AddRoute(Route route);

    /// <summary>NLM_F_CREATE|NLM_F_REPLACE: creates or overwrites the route with the same destination/table/metric.</summary>
    public void ReplaceRoute(Route route);

    public void DeleteRoute(Route route);

    // ---- neighbours (ARP) and FDB ----

    /// <summary>Neighbour (ARP/NDP) entries of one link, or all when <paramref name="index"/> is 0.</summary>
    public IReadOnlyList<Neighbour> GetNeighbours(int index = 0);

    public void AddNeighbour(Neighbour neighbour);

    public void ReplaceNeighbour(Neighbour neighbour);

    public void DeleteNeighbour(Neighbour neighbour);

    /// <summary>Bridge forwarding database entries (AF_BRIDGE) of one link, or all when 0.</summary>
    public IReadOnlyList<FdbEntry> GetFdb(int index = 0);

    /// <summary>Adds or replaces an FDB entry (NTF_SELF, permanent), e.g. a VXLAN MAC → remote VTEP.</summary>
    public void ReplaceFdb(FdbEntry entry);

    public void DeleteFdb(FdbEntry entry);
}

/// <summary>A network device as RTM_NEWLINK describes it.</summary>
/// <param name="Index">ifindex.</param>
/// <param name="Name">IFLA_IFNAME.</param>
/// <param name="Flags">ifi_flags (IFF_UP = 1, IFF_LOWER_UP = 0x10000, ...).</param>
/// <param name="Mtu">IFLA_MTU in bytes.</param>
/// <param name="HardwareAddress">IFLA_ADDRESS, null for devices without one (tun).</param>
/// <param name="Kind">IFLA_INFO_KIND ("veth", "bridge", "vxlan", "tun", "dummy"), null for physical/loopback.</param>
/// <param name="MasterIndex">IFLA_MASTER, 0 when none.</param>
/// <param name="Vxlan">The VXLAN settings when <paramref name="Kind"/> is "vxlan".</param>
public sealed record Link(int Index, string Name, uint Flags, int Mtu, PhysicalAddress? HardwareAddress, string? Kind, int MasterIndex, VxlanInfo? Vxlan)
{
    /// <summary>IFF_UP: administratively up.</summary>
    public bool IsUp => (Flags & 1) != 0;
}

/// <summary>VXLAN settings read back from IFLA_INFO_DATA.</summary>
public sealed record VxlanInfo(uint Vni, IPAddress? Local, int DeviceIndex, int Port, bool Learning, bool Gbp);

/// <summary>What <see cref="IRtNetlink.AddVxlan"/> creates (flannel's <c>vxlanDeviceAttrs</c>).</summary>
public sealed record VxlanOptions
{
    public required string Name { get; init; }

    /// <summary>VXLAN network identifier, 0..2^24-1.</summary>
    public required uint Vni { get; init; }

    /// <summary>Source address of encapsulated packets (IFLA_VXLAN_LOCAL).</summary>
    public IPAddress? Local { get; init; }

    /// <summary>The underlay device (IFLA_VXLAN_LINK), 0 for none.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>UDP destination port; 0 leaves the kernel's default (8472).</summary>
    public int Port { get; init; }

    /// <summary>MAC learning; flannel turns it off and programs the FDB itself.</summary>
    public bool Learning { get; init; }

    /// <summary>Group Based Policy extension (IFLA_VXLAN_GBP).</summary>
    public bool Gbp { get; init; }

    /// <summary>MTU in bytes; 0 leaves the kernel's choice.</summary>
    public int Mtu { get; init; }

    /// <summary>The device's MAC; null lets the kernel pick a random one.</summary>
    public PhysicalAddress? HardwareAddress { get; init; }
}

/// <summary>An address on a link (RTM_NEWADDR).</summary>
public sealed record InterfaceAddress(int Index, IPAddress Address, int PrefixLength)
{
    public override string ToString() => $"{Address}/{PrefixLength}";
}

/// <summary>A route (RTM_NEWROUTE). Destination 0.0.0.0/0 is the default route.</summary>
public sealed record Route
{
    public const int MainTable = 254;

    /// <summary>RTPROT_BOOT, what <c>ip route add</c> uses.</summary>
    public const int ProtocolBoot = 3;

    /// <summary>RTPROT_KERNEL: routes the kernel adds for addresses.</summary>
    public const int ProtocolKernel = 2;

    public required IPAddress Destination { get; init; }

    public required int PrefixLength { get; init; }

    /// <summary>RTA_GATEWAY (via), or null for a direct route.</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>RTA_OIF (dev), 0 for none.</summary>
    public int OutputIndex { get; init; }

    /// <summary>RTNH_F_ONLINK: the gateway is reachable on the device even without a matching subnet.</summary>
    public bool OnLink { get; init; }

    public RouteScope Scope { get; init; } = RouteScope.Universe;

    public int Table { get; init; } = MainTable;

    public int Protocol { get; init; } = ProtocolBoot;

    /// <summary>RTA_PREFSRC, or null.</summary>
    public IPAddress? PreferredSource { get; init; }

    /// <summary>RTA_PRIORITY (metric).</summary>
    public int Metric { get; init; }

    public override string ToString() =>
        $"{Destination}/{PrefixLength}{(Gateway is null ? "" : $" via {Gateway}")}{(OutputIndex == 0 ? "" : $" dev #{OutputIndex}")}{(OnLink ? " onlink" : "")}";
}

/// <summary>rtm_scope values.</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Site = 200,
    Link = 253,
    Host = 254,
    Nowhere = 255,
}

/// <summary>An ARP/NDP entry (RTM_NEWNEIGH, AF_INET/AF_INET6).</summary>
/// <param name="Index">The link's ifindex.</param>
/// <param name="Address">The neighbour's IP address (NDA_DST).</param>
/// <param name="HardwareAddress">Its MAC (NDA_LLADDR), null for incomplete entries.</param>
/// <param name="State">ndm_state; <see cref="NeighbourState.Permanent"/> for static entries.</param>
public sealed record Neighbour(int Index, IPAddress Address, PhysicalAddress? HardwareAddress, NeighbourState State = NeighbourState.Permanent);

/// <summary>ndm_state bits (NUD_*).</summary>
[Flags]
public enum NeighbourState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>A bridge/VXLAN forwarding entry (AF_BRIDGE neighbour): <paramref name="HardwareAddress"/> is reached via <paramref name="Destination"/> (the remote VTEP), if any.</summary>
public sealed record FdbEntry(int Index, PhysicalAddress HardwareAddress, IPAddress? Destination);

/// <summary>A link appeared, changed or was deleted (RTNLGRP_LINK).</summary>
public sealed record LinkEvent(LinkEventType Type, Link Link);

public enum LinkEventType
{
    /// <summary>RTM_NEWLINK: created or changed.</summary>
    NewOrChanged,

    /// <summary>RTM_DELLINK: deleted (or moved to another namespace).</summary>
    Deleted,

    /// <summary>The socket overflowed (ENOBUFS) and events were lost; <see cref="LinkEvent.Link"/> is empty. Re-check state.</summary>
    Overflow,
}
