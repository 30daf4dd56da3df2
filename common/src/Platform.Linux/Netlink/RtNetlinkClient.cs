using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Platform.Linux.Netns;

namespace Platform.Linux.Netlink;

/// <summary>The <see cref="IRtNetlink"/> implementation over one <see cref="NetlinkSocket"/>.</summary>
internal sealed class RtNetlinkClient : IRtNetlink
{
    private const ushort Create = Nl.FRequest | Nl.FAck | Nl.FCreate | Nl.FExcl;
    private const ushort CreateOrReplace = Nl.FRequest | Nl.FAck | Nl.FCreate | Nl.FReplace;
    private const ushort Modify = Nl.FRequest | Nl.FAck;
    private const ushort Dump = Nl.FRequest | Nl.FDump;

    private readonly NetlinkSocket _socket;

    public RtNetlinkClient(NetlinkSocket socket)
    {
        _socket = socket;
    }

    public void Dispose() => _socket.Dispose();

    // ---- links ----

    public IReadOnlyList<Link> GetLinks() =>
        [.. _socket.Request(new NetlinkWriter(Nl.RtmGetLink, Dump).IfInfoMsg(Nl.AfUnspec, 0), "RTM_GETLINK dump")
            .Where(m => m.Type == Nl.RtmNewLink).Select(m => ParseLink(m.Payload))];

    public Link? GetLink(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return GetLinkBy(new NetlinkWriter(Nl.RtmGetLink, Modify).IfInfoMsg(Nl.AfUnspec, 0).AttrString(Nl.IflaIfname, name), name);
    }

    public Link? GetLink(int index) =>
        GetLinkBy(new NetlinkWriter(Nl.RtmGetLink, Modify).IfInfoMsg(Nl.AfUnspec, index), $"#{index}");

    public Link AddVeth(string name, string peerName, NetworkNamespace? peerNamespace = null)
    {
        NetlinkWriter w = NewLink(name);
        int info = w.BeginNested(Nl.IflaLinkInfo);
        w.AttrString(Nl.IflaInfoKind, "veth");
        int data = w.BeginNested(Nl.IflaInfoData);
        int peer = w.BeginNested(Nl.VethInfoPeer);
        w.Raw(new byte[Nl.IfInfoMsgLength]);
        w.AttrString(Nl.IflaIfname, peerName);
        if (peerNamespace is not null)
        {
            w.AttrU32(Nl.IflaNetNsFd, (uint)peerNamespace.FileDescriptor);
        }

        w.EndNested(peer);
        w.EndNested(data);
        w.EndNested(info);
        return CreateLink(w, $"RTM_NEWLINK veth {name} peer {peerName}", name);
    }

    public Link AddBridge(string name)
    {
        // An address given at creation is "set" (NET_ADDR_SET): the kernel then keeps it instead of
        // taking the lowest MAC among the ports, which changes whenever that port goes away.
        NetlinkWriter w = NewLink(name).Attr(Nl.IflaAddress, MacAddresses.RandomLocal().GetAddressBytes());
        int info = w.BeginNested(Nl.IflaLinkInfo);
        w.AttrString(Nl.IflaInfoKind, "bridge");
        w.EndNested(info);
        return CreateLink(w, $"RTM_NEWLINK bridge {name}", name);
    }

    public Link AddDummy(string name) => AddSimple(name, "dummy");

    public Link AddVxlan(VxlanOptions options) =>
        CreateLink(VxlanRequest(options), $"RTM_NEWLINK vxlan {options.Name}", options.Name);

    public void SetLinkUp(int index, bool up) =>
        _socket.Request(new NetlinkWriter(Nl.RtmNewLink, Modify).IfInfoMsg(Nl.AfUnspec, index, up ? Nl.IffUp : 0, Nl.IffUp), $"RTM_NEWLINK #{index} {(up ? "up" : "down")}");

    public void SetMtu(int index, int mtu) =>
        _socket.Request(new NetlinkWriter(Nl.RtmNewLink, Modify).IfInfoMsg(Nl.AfUnspec, index).AttrU32(Nl.IflaMtu, (uint)mtu), $"RTM_NEWLINK #{index} mtu {mtu}");

    public void SetMaster(int index, int masterIndex) =>
        _socket.Request(new NetlinkWriter(Nl.RtmNewLink, Modify).IfInfoMsg(Nl.AfUnspec, index).AttrU32(Nl.IflaMaster, (uint)masterIndex), $"RTM_NEWLINK #{index} master #{masterIndex}");

    public void SetHardwareAddress(int index, PhysicalAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        _socket.Request(new NetlinkWriter(Nl.RtmNewLink, Modify).IfInfoMsg(Nl.AfUnspec, index).Attr(Nl.IflaAddress, address.GetAddressBytes()), $"RTM_NEWLINK #{index} address {address}");
    }

    public void SetNamespace(int index, NetworkNamespace target)
    {
        ArgumentNullException.ThrowIfNull(target);
        _socket.Request(new NetlinkWriter(Nl.RtmNewLink, Modify).IfInfoMsg(Nl.AfUnspec, index).AttrU32(Nl.IflaNetNsFd, (uint)target.FileDescriptor), $"RTM_NEWLINK #{index} netns {target.Path}");
    }

    public void DeleteLink(int index) =>
        _socket.Request(new NetlinkWriter(Nl.RtmDelLink, Modify).IfInfoMsg(Nl.AfUnspec, index), $"RTM_DELLINK #{index}");

    // ---- addresses ----

    public IReadOnlyList<InterfaceAddress> GetAddresses(int index = 0)
    {
        var result = new List<InterfaceAddress>();
        foreach (NetlinkMessage m in _socket.Request(new NetlinkWriter(Nl.RtmGetAddr, Dump).IfAddrMsg(Nl.AfUnspec, 0, 0, 0), "RTM_GETADDR dump"))
        {
            if (m.Type != Nl.RtmNewAddr || m.Payload.Length < Nl.IfAddrMsgLength)
            {
                continue;
            }

            ReadOnlySpan<byte> h = m.Payload.Span;
            int linkIndex = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
            if (index != 0 && linkIndex != index)
            {
                continue;
            }

            NetlinkAttributes a = NetlinkAttributes.Parse(m.Payload[Nl.IfAddrMsgLength..]);
            // IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links.
            if ((a.Get(Nl.IfaLocal) ?? a.Get(Nl.IfaAddress)) is { } raw)
            {
                result.Add(new InterfaceAddress(linkIndex, new IPAddress(raw.Span), h[1]));
            }
        }

        return result;
    }

    public void AddAddress(InterfaceAddress address) => ChangeAddress(Nl.RtmNewAddr, Create, address);

    public void DeleteAddress(InterfaceAddress address) => ChangeAddress(Nl.RtmDelAddr, Modify, address);

    // ---- routes ----

    public IReadOnlyList<Route> GetRoutes(int table = Route.MainTable, AddressFamily family = AddressFamily.InterNetwork)
    {
        byte af = Family(family);
        var result = new List<Route>();
        foreach (NetlinkMessage m in _socket.Request(new NetlinkWriter(Nl.RtmGetRoute, Dump).RtMsg(af, 0, 0, 0, 0, 0, 0), "RTM_GETROUTE dump"))
        {
            if (m.Type == Nl.RtmNewRoute && ParseRoute(m.Payload) is { } route && route.Table == table
                && (BinaryPrimitives.ReadUInt32LittleEndian(m.Payload.Span[8..]) & Nl.RtmFCloned) == 0 && m.Payload.Span[7] == Nl.RtnUnicast)
            {
                result.Add(route);
            }
        }

        return result;
    }

    public Route? LookupRoute(IPAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[] bytes = destination.GetAddressBytes();
        NetlinkWriter w = new NetlinkWriter(Nl.RtmGetRoute, Modify)
            .RtMsg(Family(destination.AddressFamily), bytes.Length * 8, 0, 0, 0, 0, 0)
            .Attr(Nl.RtaDst, bytes);
        try
        {
            NetlinkMessage? reply = _socket.Request(w, $"RTM_GETROUTE {destination}").FirstOrDefault(m => m.Type == Nl.RtmNewRoute);
            return reply is { } r ? ParseRoute(r.Payload) : null;
        }
        catch (LinuxException e) when (e.Errno is 101 or 113)
        {
            // ENETUNREACH / EHOSTUNREACH: no route.
            return null;
        }
    }

    public void AddRoute(Route route) => ChangeRoute(Nl.RtmNewRoute, Create, route);

    public void ReplaceRoute(Route route) => ChangeRoute(Nl.RtmNewRoute, CreateOrReplace, route);

    public void DeleteRoute(Route route) => ChangeRoute(Nl.RtmDelRoute, Modify, route);

    // ---- neighbours and FDB ----

    public IReadOnlyList<Neighbour> GetNeighbours(int index = 0)
    {
        var result = new List<Neighbour>();
        foreach ((int linkIndex, byte family, ushort state, NetlinkAttributes a) in DumpNeighbours(Nl.AfUnspec))
        {
            if ((family is Nl.AfInet or Nl.AfInet6) && (index == 0 || linkIndex == index) && a.Get(Nl.NdaDst) is { } dst)
            {
                PhysicalAddress? mac = a.Get(Nl.NdaLladdr) is { } ll ? new PhysicalAddress(ll.ToArray()) : null;
                result.Add(new Neighbour(linkIndex, new IPAddress(dst.Span), mac, (NeighbourState)state));
            }
        }

        return result;
    }

    public void AddNeighbour(Neighbour neighbour) => ChangeNeighbour(Nl.RtmNewNeigh, Create, neighbour);

    public void ReplaceNeighbour(Neighbour neighbour) => ChangeNeighbour(Nl.RtmNewNeigh, CreateOrReplace, neighbour);

    public void DeleteNeighbour(Neighbour neighbour) => ChangeNeighbour(Nl.RtmDelNeigh, Modify, neighbour);

    public IReadOnlyList<FdbEntry> GetFdb(int index = 0)
    {
        var result = new List<FdbEntry>();
        foreach ((int linkIndex, byte family, _, NetlinkAttributes a) in DumpNeighbours(Nl.AfBridge))
        {
            if (family == Nl.AfBridge && (index == 0 || linkIndex == index) && a.Get(Nl.NdaLladdr) is { } ll)
            {
                IPAddress? dst = a.Get(Nl.NdaDst) is { } d ? new IPAddress(d.Span) : null;
                result.Add(new FdbEntry(linkIndex, new PhysicalAddress(ll.ToArray()), dst));
            }
        }

        return result;
    }

    public void ReplaceFdb(FdbEntry entry) => ChangeFdb(Nl.RtmNewNeigh, CreateOrReplace, entry);

    public void DeleteFdb(FdbEntry entry) => ChangeFdb(Nl.RtmDelNeigh, Modify, entry);

    // ---- encoding helpers (internal for the byte-layout unit tests) ----

    internal static NetlinkWriter VxlanRequest(VxlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        NetlinkWriter w = NewLink(options.Name);
        if (options.Mtu > 0)
        {
            w.AttrU32(Nl.IflaMtu, (uint)options.Mtu);
        }

        if (options.HardwareAddress is not null)
        {
            w.Attr(Nl.IflaAddress, options.HardwareAddress.GetAddressBytes());
        }

        int info = w.BeginNested(Nl.IflaLinkInfo);
        w.AttrString(Nl.IflaInfoKind, "vxlan");
        int data = w.BeginNested(Nl.IflaInfoData);
        w.AttrU32(Nl.IflaVxlanId, options.Vni);
        if (options.DeviceIndex > 0)
        {
            w.AttrU32(Nl.IflaVxlanLink, (uint)options.DeviceIndex);
        }

        if (options.Local is not null)
        {
            w.Attr(Nl.IflaVxlanLocal, options.Local.GetAddressBytes());
        }

        w.AttrU8(Nl.IflaVxlanLearning, options.Learning ? (byte)1 : (byte)0);
        if (options.Port > 0)
        {
            w.AttrBe16(Nl.IflaVxlanPort, (ushort)options.Port);
        }

        if (options.Gbp)
        {
            w.AttrFlag(Nl.IflaVxlanGbp);
        }

        w.EndNested(data);
        w.EndNested(info);
        return w;
    }

    internal static NetlinkWriter RouteRequest(ushort type, ushort flags, Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        byte[] dst = route.Destination.GetAddressBytes();
        byte scope = (byte)route.Scope;
        if (type == Nl.RtmDelRoute)
        {
            // As `ip route del`: RT_SCOPE_NOWHERE and protocol 0 match a route of any scope/protocol.
            scope = (byte)RouteScope.Nowhere;
        }
        else if (route.Gateway is null && route.Scope == RouteScope.Universe && route.OutputIndex != 0)
        {
            // As `ip route add`: a route without a gateway is on-link.
            scope = (byte)RouteScope.Link;
        }

        byte table = route.Table < 256 ? (byte)route.Table : (byte)0;
        NetlinkWriter w = new NetlinkWriter(type, flags).RtMsg(
            Family(route.Destination.AddressFamily), route.PrefixLength, table,
            type == Nl.RtmDelRoute ? (byte)0 : (byte)route.Protocol, scope, Nl.RtnUnicast, route.OnLink ? Nl.RtnhFOnLink : 0);
        if (route.PrefixLength > 0)
        {
            w.Attr(Nl.RtaDst, dst);
        }

        if (route.Gateway is not null)
        {
            w.Attr(Nl.RtaGateway, route.Gateway.GetAddressBytes());
        }

        if (route.OutputIndex != 0)
        {
            w.AttrU32(Nl.RtaOif, (uint)route.OutputIndex);
        }

        if (route.PreferredSource is not null)
        {
            w.Attr(Nl.RtaPrefSrc, route.PreferredSource.GetAddressBytes());
        }

        if (route.Metric != 0)
        {
            w.AttrU32(Nl.RtaPriority, (uint)route.Metric);
        }

        w.AttrU32(Nl.RtaTable, (uint)route.Table);
        return w;
    }

    internal static NetlinkWriter NeighbourRequest(ushort type, ushort flags, Neighbour neighbour)
    {
        ArgumentNullException.ThrowIfNull(neighbour);
        NetlinkWriter w = new NetlinkWriter(type, flags)
            .NdMsg(Family(neighbour.Address.AddressFamily), neighbour.Index, (ushort)neighbour.State, 0)
            .Attr(Nl.NdaDst, neighbour.Address.GetAddressBytes());
        if (neighbour.HardwareAddress is not null)
        {
            w.Attr(Nl.NdaLladdr, neighbour.HardwareAddress.GetAddressBytes());
        }

        return w;
    }

    internal static NetlinkWriter FdbRequest(ushort type, ushort flags, FdbEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // As `bridge fdb replace MAC dev X dst IP self permanent`.
        NetlinkWriter w = new NetlinkWriter(type, flags)
            .NdMsg(Nl.AfBridge, entry.Index, (ushort)NeighbourState.Permanent, Nl.NtfSelf)
            .Attr(Nl.NdaLladdr, entry.HardwareAddress.GetAddressBytes());
        if (entry.Destination is not null)
        {
            w.Attr(Nl.NdaDst, entry.Destination.GetAddressBytes());
        }

        return w;
    }

    internal static Link ParseLink(ReadOnlyMemory<byte> payload)
    {
        ReadOnlySpan<byte> h = payload.Span;
        int index = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        NetlinkAttributes a = NetlinkAttributes.Parse(payload[Nl.IfInfoMsgLength..]);
        PhysicalAddress? mac = a.Get(Nl.IflaAddress) is { Length: > 0 } m ? new PhysicalAddress(m.ToArray()) : null;
        NetlinkAttributes? info = a.Nested(Nl.IflaLinkInfo);
        string? kind = info?.String(Nl.IflaInfoKind);
        VxlanInfo? vxlan = null;
        if (kind == "vxlan" && info!.Nested(Nl.IflaInfoData) is { } d)
        {
            vxlan = new VxlanInfo(
                d.U32(Nl.IflaVxlanId) ?? 0,
                d.Get(Nl.IflaVxlanLocal) is { Length: 4 } local ? new IPAddress(local.Span) : null,
                (int)(d.U32(Nl.IflaVxlanLink) ?? 0),
                d.Be16(Nl.IflaVxlanPort) ?? 0,
                d.U8(Nl.IflaVxlanLearning) == 1,
                d.Has(Nl.IflaVxlanGbp));
        }

        return new Link(index, a.String(Nl.IflaIfname) ?? $"#{index}", flags, (int)(a.U32(Nl.IflaMtu) ?? 0), mac, kind, (int)(a.U32(Nl.IflaMaster) ?? 0), vxlan);
    }

    internal static Route ParseRoute(ReadOnlyMemory<byte> payload)
    {
        ReadOnlySpan<byte> h = payload.Span;
        byte family = h[0];
        NetlinkAttributes a = NetlinkAttributes.Parse(payload[Nl.RtMsgLength..]);
        IPAddress destination = a.Get(Nl.RtaDst) is { } dst ? new IPAddress(dst.Span) : family == Nl.AfInet6 ? IPAddress.IPv6Any : IPAddress.Any;
        return new Route
        {
            Destination = destination,
            PrefixLength = h[1],
            Gateway = a.Get(Nl.RtaGateway) is { } gw ? new IPAddress(gw.Span) : null,
            OutputIndex = (int)(a.U32(Nl.RtaOif) ?? 0),
            OnLink = (BinaryPrimitives.ReadUInt32LittleEndian(h[8..]) & Nl.RtnhFOnLink) != 0,
            Scope = (RouteScope)h[6],
            Table = (int)(a.U32(Nl.RtaTable) ?? h[4]),
            Protocol = h[5],
            PreferredSource = a.Get(Nl.RtaPrefSrc) is { } src ? new IPAddress(src.Span) : null,
            Metric = (int)(a.U32(Nl.RtaPriority) ?? 0),
        };
    }

    private static byte Family(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Nl.AfInet,
        AddressFamily.InterNetworkV6 => Nl.AfInet6,
        _ => throw new ArgumentException($"unsupported address family {family}", nameof(family)),
    };

    private static NetlinkWriter NewLink(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 15)
        {
            // IFNAMSIZ is 16 including the NUL; the kernel would answer EINVAL.
            throw new ArgumentException($"interface name '{name}' is longer than 15 bytes", nameof(name));
        }

        return new NetlinkWriter(Nl.RtmNewLink, Create).IfInfoMsg(Nl.AfUnspec, 0).AttrString(Nl.IflaIfname, name);
    }

    private Link AddSimple(string name, string kind)
    {
        NetlinkWriter w = NewLink(name);
        int info = w.BeginNested(Nl.IflaLinkInfo);
        w.AttrString(Nl.IflaInfoKind, kind);
        w.EndNested(info);
        return CreateLink(w, $"RTM_NEWLINK {kind} {name}", name);
    }

    private Link CreateLink(NetlinkWriter request, string operation, string name)
    {
        _socket.Request(request, operation);
        return GetLink(name) ?? throw new LinuxException($"{operation}: created but not found", 0);
    }

    private Link? GetLinkBy(NetlinkWriter request, string what)
    {
        try
        {
            NetlinkMessage? reply = _socket.Request(request, $"RTM_GETLINK {what}").FirstOrDefault(m => m.Type == Nl.RtmNewLink);
            return reply is { } r ? ParseLink(r.Payload) : null;
        }
        catch (LinuxException e) when (e.Errno == 19)
        {
            // ENODEV: no such device.
            return null;
        }
    }

    private void ChangeAddress(ushort type, ushort flags, InterfaceAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        byte[] bytes = address.Address.GetAddressBytes();
        NetlinkWriter w = new NetlinkWriter(type, flags)
            .IfAddrMsg(Family(address.Address.AddressFamily), address.PrefixLength, 0, address.Index)
            .Attr(Nl.IfaLocal, bytes)
            .Attr(Nl.IfaAddress, bytes);
        _socket.Request(w, $"{Nl.TypeName(type)} {address} dev #{address.Index}");
    }

    private void ChangeRoute(ushort type, ushort flags, Route route) =>
        _socket.Request(RouteRequest(type, flags, route), $"{Nl.TypeName(type)} {route}");

    private void ChangeNeighbour(ushort type, ushort flags, Neighbour neighbour) =>
        _socket.Request(NeighbourRequest(type, flags, neighbour), $"{Nl.TypeName(type)} {neighbour.Address} lladdr {neighbour.HardwareAddress} dev #{neighbour.Index}");

    private void ChangeFdb(ushort type, ushort flags, FdbEntry entry) =>
        _socket.Request(FdbRequest(type, flags, entry), $"{Nl.TypeName(type)} fdb {entry.HardwareAddress} dst {entry.Destination} dev #{entry.Index}");

    private IEnumerable<(int Index, byte Family, ushort State, NetlinkAttributes Attributes)> DumpNeighbours(byte family)
    {
        foreach (NetlinkMessage m in _socket.Request(new NetlinkWriter(Nl.RtmGetNeigh, Dump).NdMsg(family, 0, 0, 0), "RTM_GETNEIGH dump"))
        {
            if (m.Type != Nl.RtmNewNeigh || m.Payload.Length < Nl.NdMsgLength)
            {
                continue;
            }

            ReadOnlySpan<byte> h = m.Payload.Span;
            yield return (BinaryPrimitives.ReadInt32LittleEndian(h[4..]), h[0], BinaryPrimitives.ReadUInt16LittleEndian(h[8..]), NetlinkAttributes.Parse(m.Payload[Nl.NdMsgLength..]));
        }
    }
}
