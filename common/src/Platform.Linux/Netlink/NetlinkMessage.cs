using System.Buffers.Binary;
using System.Text;

namespace Platform.Linux.Netlink;

/// <summary>
/// Wire constants from linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h and neighbour.h (names kept
/// recognisable, Pascal-cased).
/// </summary>
internal static class Nl
{
    public const int HeaderLength = 16; // struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32

    // nlmsg_type
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort RtmNewLink = 16;
    public const ushort RtmDelLink = 17;
    public const ushort RtmGetLink = 18;
    public const ushort RtmNewAddr = 20;
    public const ushort RtmDelAddr = 21;
    public const ushort RtmGetAddr = 22;
    public const ushort RtmNewRoute = 24;
    public const ushort RtmDelRoute = 25;
    public const ushort RtmGetRoute = 26;
    public const ushort RtmNewNeigh = 28;
    public const ushort RtmDelNeigh = 29;
    public const ushort RtmGetNeigh = 30;

    // nlmsg_flags
    public const ushort FRequest = 0x1;
    public const ushort FMulti = 0x2;
    public const ushort FAck = 0x4;
    public const ushort FDumpIntr = 0x10;
    public const ushort FDump = 0x300; // NLM_F_ROOT | NLM_F_MATCH
    public const ushort FReplace = 0x100;
    public const ushort FExcl = 0x200;
    public const ushort FCreate = 0x400;

    // address families
    public const byte AfUnspec = 0;
    public const byte AfInet = 2;
    public const byte AfBridge = 7;
    public const byte AfInet6 = 10;

    // struct ifinfomsg (16 bytes) and IFLA_*
    public const int IfInfoMsgLength = 16;
    public const uint IffUp = 0x1;
    public const ushort IflaAddress = 1;
    public const ushort IflaIfname = 3;
    public const ushort IflaMtu = 4;
    public const ushort IflaMaster = 10;
    public const ushort IflaLinkInfo = 18;
    public const ushort IflaNetNsFd = 28;
    public const ushort IflaInfoKind = 1;
    public const ushort IflaInfoData = 2;
    public const ushort VethInfoPeer = 1;
    public const ushort IflaVxlanId = 1;
    public const ushort IflaVxlanLink = 3;
    public const ushort IflaVxlanLocal = 4;
    public const ushort IflaVxlanLearning = 7;
    public const ushort IflaVxlanPort = 15; // __be16
    public const ushort IflaVxlanGbp = 23; // flag

    // struct ifaddrmsg (8 bytes) and IFA_*
    public const int IfAddrMsgLength = 8;
    public const ushort IfaAddress = 1;
    public const ushort IfaLocal = 2;

    // struct rtmsg (12 bytes) and RTA_*
    public const int RtMsgLength = 12;
    public const ushort RtaDst = 1;
    public const ushort RtaOif = 4;
    public const ushort RtaGateway = 5;
    public const ushort RtaPriority = 6;
    public const ushort RtaPrefSrc = 7;
    public const ushort RtaTable = 15;
    public const byte RtnUnicast = 1;
    public const uint RtnhFOnLink = 4;
    public const uint RtmFCloned = 0x200;

    // struct ndmsg (12 bytes) and NDA_*
    public const int NdMsgLength = 12;
    public const ushort NdaDst = 1;
    public const ushort NdaLladdr = 2;
    public const byte NtfSelf = 0x02;

    // multicast group bitmask for bind(): RTMGRP_LINK
    public const uint RtmgrpLink = 1;

    /// <summary>NLA_TYPE_MASK: attribute type without NLA_F_NESTED / NLA_F_NET_BYTEORDER.</summary>
    public const ushort AttrTypeMask = 0x3fff;

    public static int Align(int length) => (length + 3) & ~3;

    public static string TypeName(ushort type) => type switch
    {
        RtmNewLink => "RTM_NEWLINK",
        RtmDelLink => "RTM_DELLINK",
        RtmGetLink => "RTM_GETLINK",
        RtmNewAddr => "RTM_NEWADDR",
        RtmDelAddr => "RTM_DELADDR",
        RtmGetAddr => "RTM_GETADDR",
        RtmNewRoute => "RTM_NEWROUTE",
        RtmDelRoute => "RTM_DELROUTE",
        RtmGetRoute => "RTM_GETROUTE",
        RtmNewNeigh => "RTM_NEWNEIGH",
        RtmDelNeigh => "RTM_DELNEIGH",
        RtmGetNeigh => "RTM_GETNEIGH",
        _ => $"nlmsg type {type}",
    };
}

/// <summary>One received netlink message; <see cref="Payload"/> excludes the 16-byte header.</summary>
internal readonly record struct NetlinkMessage(ushort Type, ushort Flags, uint Sequence, uint PortId, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Splits a datagram into messages (NLMSG_ALIGN steps); a truncated tail is an error.</summary>
    public static List<NetlinkMessage> ParseAll(ReadOnlyMemory<byte> data)
    {
        var messages = new List<NetlinkMessage>();
        int offset = 0;
        ReadOnlySpan<byte> span = data.Span;
        while (offset + Nl.HeaderLength <= data.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            if (length < Nl.HeaderLength || offset + length > data.Length)
            {
                throw new InvalidDataException($"netlink message of length {length} at offset {offset} does not fit the {data.Length}-byte datagram");
            }

            messages.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 4)..]),
                BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 6)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[(offset + 8)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[(offset + 12)..]),
                data.Slice(offset + Nl.HeaderLength, length - Nl.HeaderLength)));
            offset += Nl.Align(length);
        }

        return messages;
    }
}

/// <summary>Attributes (struct rtattr / nlattr: len u16, type u16, payload, padded to 4) of a message body, by type.</summary>
internal sealed class NetlinkAttributes
{
    private readonly Dictionary<ushort, ReadOnlyMemory<byte>> _attributes = [];

    private NetlinkAttributes()
    {
    }

    /// <summary>Parses the attributes in <paramref name="data"/>; for repeated types the last one wins.</summary>
    public static NetlinkAttributes Parse(ReadOnlyMemory<byte> data)
    {
        var result = new NetlinkAttributes();
        int offset = 0;
        while (offset + 4 <= data.Length)
        {
            ReadOnlySpan<byte> span = data.Span[offset..];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(span);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(span[2..]) & Nl.AttrTypeMask);
            if (length < 4 || offset + length > data.Length)
            {
                throw new InvalidDataException($"netlink attribute {type} of length {length} at offset {offset} does not fit {data.Length} bytes");
            }

            result._attributes[type] = data.Slice(offset + 4, length - 4);
            offset += Nl.Align(length);
        }

        return result;
    }

    public bool Has(ushort type) => _attributes.ContainsKey(type);

    public ReadOnlyMemory<byte>? Get(ushort type) => _attributes.TryGetValue(type, out ReadOnlyMemory<byte> value) ? value : (ReadOnlyMemory<byte>?)null;

    public uint? U32(ushort type) => Get(type) is { Length: >= 4 } v ? BinaryPrimitives.ReadUInt32LittleEndian(v.Span) : null;

    public byte? U8(ushort type) => Get(type) is { Length: >= 1 } v ? v.Span[0] : null;

    public ushort? Be16(ushort type) => Get(type) is { Length: >= 2 } v ? BinaryPrimitives.ReadUInt16BigEndian(v.Span) : null;

    /// <summary>A NUL-terminated string attribute.</summary>
    public string? String(ushort type)
    {
        if (Get(type) is not { } v)
        {
            return null;
        }

        ReadOnlySpan<byte> s = v.Span;
        int nul = s.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? s[..nul] : s);
    }

    public NetlinkAttributes? Nested(ushort type) => Get(type) is { } v ? Parse(v) : null;
}

/// <summary>
/// Builds one request: header, fixed family header, attributes (nested via <see cref="BeginNested"/> /
/// <see cref="EndNested"/>). Length and sequence number are filled by <see cref="ToArray"/>.
/// </summary>
internal sealed class NetlinkWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public NetlinkWriter(ushort type, ushort flags)
    {
        Type = type;
        Reserve(Nl.HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
    }

    public ushort Type { get; }

    public ushort Flags => BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(6));

    /// <summary>struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32.</summary>
    public NetlinkWriter IfInfoMsg(byte family, int index, uint flags = 0, uint change = 0)
    {
        Span<byte> s = Reserve(Nl.IfInfoMsgLength);
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], change);
        return this;
    }

    /// <summary>struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32.</summary>
    public NetlinkWriter IfAddrMsg(byte family, int prefixLength, byte scope, int index)
    {
        Span<byte> s = Reserve(Nl.IfAddrMsgLength);
        s[0] = family;
        s[1] = (byte)prefixLength;
        s[3] = scope;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        return this;
    }

    /// <summary>struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32.</summary>
    public NetlinkWriter RtMsg(byte family, int dstLength, byte table, byte protocol, byte scope, byte type, uint flags)
    {
        Span<byte> s = Reserve(Nl.RtMsgLength);
        s[0] = family;
        s[1] = (byte)dstLength;
        s[4] = table;
        s[5] = protocol;
        s[6] = scope;
        s[7] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        return this;
    }

    /// <summary>struct ndmsg: family u8, pad u8, pad u16, ifindex s32, state u16, flags u8, type u8.</summary>
    public NetlinkWriter NdMsg(byte family, int index, ushort state, byte flags)
    {
        Span<byte> s = Reserve(Nl.NdMsgLength);
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], state);
        s[10] = flags;
        return this;
    }

    public NetlinkWriter Attr(ushort type, ReadOnlySpan<byte> payload)
    {
        Span<byte> s = Reserve(Nl.Align(4 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(4 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        payload.CopyTo(s[4..]);
        return this;
    }

    public NetlinkWriter AttrU32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        return Attr(type, v);
    }

    public NetlinkWriter AttrU8(ushort type, byte value) => Attr(type, [value]);

    public NetlinkWriter AttrBe16(ushort type, ushort value)
    {
        Span<byte> v = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(v, value);
        return Attr(type, v);
    }

    public NetlinkWriter AttrFlag(ushort type) => Attr(type, []);

    /// <summary>A NUL-terminated string, as the kernel expects for IFLA_IFNAME and IFLA_INFO_KIND.</summary>
    public NetlinkWriter AttrString(ushort type, string value)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return Attr(type, bytes);
    }

    /// <summary>Starts a nested attribute; returns its offset for <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        int start = _length;
        Span<byte> s = Reserve(4);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        return start;
    }

    public void EndNested(int start) => BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(_length - start));

    /// <summary>Raw bytes inside a nested attribute (VETH_INFO_PEER starts with a struct ifinfomsg).</summary>
    public NetlinkWriter Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(Nl.Align(bytes.Length)));
        return this;
    }

    /// <summary>The finished message with its length and <paramref name="sequence"/>; port id 0 (the kernel).</summary>
    public byte[] ToArray(uint sequence)
    {
        byte[] message = _buffer.AsSpan(0, _length).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)_length);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        return message;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        Span<byte> span = _buffer.AsSpan(_length, count);
        span.Clear();
        _length += count;
        return span;
    }
}
