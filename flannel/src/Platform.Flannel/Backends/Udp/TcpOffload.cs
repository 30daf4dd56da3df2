using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Platform.Flannel.Backends.Udp;

/// <summary>
/// The <c>virtio_net_hdr</c> that a TUN device opened with <c>IFF_VNET_HDR</c> puts before every packet
/// (10 bytes, little-endian on the machines we run on: <c>flags</c>, <c>gso_type</c>, <c>hdr_len</c>,
/// <c>gso_size</c>, <c>csum_start</c>, <c>csum_offset</c>).
/// </summary>
internal readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Length = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at start+offset holds only the pseudo-header sum.</summary>
    public const byte NeedsChecksum = 1;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;

    /// <summary>VIRTIO_NET_HDR_GSO_ECN, or-ed into <see cref="GsoType"/>: the first segment carries CWR.</summary>
    public const byte GsoEcn = 0x80;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> b) => new(
        b[0], b[1], BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[6..]), BinaryPrimitives.ReadUInt16LittleEndian(b[8..]));

    public void Write(Span<byte> b)
    {
        b[0] = Flags;
        b[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], ChecksumOffset);
    }
}

/// <summary>
/// Internet checksums (RFC 1071). Sums are accumulated over the bytes read as native little-endian words
/// (the one's complement sum does not depend on byte order) and byte-swapped once when stored.
/// </summary>
internal static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> (an odd tail is padded with a zero byte) to a running sum.</summary>
    public static ulong Add(ReadOnlySpan<byte> data, ulong sum)
    {
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(data);
        foreach (uint w in words)
        {
            sum += w;
        }

        int done = words.Length * 4;
        if (data.Length - done >= 2)
        {
            sum += MemoryMarshal.Read<ushort>(data[done..]);
            done += 2;
        }

        if (done < data.Length)
        {
            sum += data[done];
        }

        return sum;
    }

    /// <summary>The sum folded to 16 bits, in network byte order (not complemented).</summary>
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xffffffff) + (sum >> 32);
        sum = (sum & 0xffffffff) + (sum >> 32);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        ushort folded = (ushort)sum;
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>The IPv4/TCP/UDP pseudo-header (source, destination, zero, protocol, length) as a running sum.</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ipv4Header, byte protocol, int length)
    {
        Span<byte> pseudo = stackalloc byte[12];
        ipv4Header.Slice(12, 8).CopyTo(pseudo);
        pseudo[8] = 0;
        pseudo[9] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo[10..], (ushort)length);
        return Add(pseudo, 0);
    }

    /// <summary>Recomputes the IPv4 header checksum of <paramref name="header"/> (IHL bytes).</summary>
    public static void SetIpv4(Span<byte> header)
    {
        header[10] = 0;
        header[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)~Fold(Add(header, 0)));
    }

    /// <summary>Whether an IPv4 header's checksum is right (the sum over it, checksum included, is all ones).</summary>
    public static bool Ipv4Valid(ReadOnlySpan<byte> header) => Fold(Add(header, 0)) == 0xffff;
}

/// <summary>
/// TCP segmentation and coalescing between the TUN device (which, with <c>TUN_F_TSO4</c>, hands over and
/// accepts TCP super-packets of up to 64 KiB) and the wire (one IPv4 packet of at most the TUN MTU per UDP
/// datagram, as flannel's udp backend sends them). Pure functions over spans; no allocation.
/// </summary>
internal static class TcpOffload
{
    public const byte ProtocolTcp = 6;

    private const byte Fin = 0x01;
    private const byte Psh = 0x08;
    private const byte Cwr = 0x80;

    /// <summary>
    /// Completes a packet whose <paramref name="header"/> says NEEDS_CSUM: the checksum field at
    /// start + offset holds the pseudo-header sum, the sum from start to the end is stored complemented.
    /// False when the offsets are outside the packet.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> packet, VirtioNetHeader header)
    {
        int start = header.ChecksumStart;
        int field = start + header.ChecksumOffset;
        if (start >= packet.Length || field + 2 > packet.Length)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[field..], (ushort)~InternetChecksum.Fold(InternetChecksum.Add(packet[start..], 0)));
        return true;
    }

    /// <summary>
    /// Splits the IPv4/TCP super-packet <paramref name="packet"/> into segments of at most
    /// <paramref name="mss"/> payload bytes, written back to back into <paramref name="output"/>, each a
    /// complete packet with its own IP length, ID (+1 per segment, as the kernel's GSO does), header
    /// checksum, sequence number, flags (FIN/PSH only on the last, CWR only on the first) and TCP checksum.
    /// Returns the number of segments and the length of a full one (every segment but the last has it),
    /// or 0 segments when the packet is not a well-formed IPv4/TCP packet or does not fit.
    /// </summary>
    public static (int Count, int SegmentLength) Segment(ReadOnlySpan<byte> packet, int mss, Span<byte> output)
    {
        if (packet.Length < 40 || packet[0] >> 4 != 4 || packet[9] != ProtocolTcp || mss <= 0)
        {
            return (0, 0);
        }

        int ipLength = (packet[0] & 0x0f) * 4;
        if (ipLength < 20 || packet.Length < ipLength + 20)
        {
            return (0, 0);
        }

        int tcpLength = (packet[ipLength + 12] >> 4) * 4;
        int headerLength = ipLength + tcpLength;
        if (tcpLength < 20 || packet.Length < headerLength)
        {
            return (0, 0);
        }

        ReadOnlySpan<byte> header = packet[..headerLength];
        ReadOnlySpan<byte> payload = packet[headerLength..];
        int count = Math.Max(1, (payload.Length + mss - 1) / mss);
        if ((count * headerLength) + payload.Length > output.Length)
        {
            return (0, 0);
        }

        ushort id = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(header[(ipLength + 4)..]);
        byte flags = header[ipLength + 13];
        int position = 0;
        for (int i = 0; i < count; i++)
        {
            int offset = i * mss;
            int length = Math.Min(mss, payload.Length - offset);
            Span<byte> segment = output.Slice(position, headerLength + length);
            header.CopyTo(segment);
            payload.Slice(offset, length).CopyTo(segment[headerLength..]);
            BinaryPrimitives.WriteUInt16BigEndian(segment[2..], (ushort)segment.Length);
            BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(id + i));
            InternetChecksum.SetIpv4(segment[..ipLength]);
            Span<byte> tcp = segment[ipLength..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq + (uint)offset);
            byte f = flags;
            if (i != count - 1)
            {
                f &= unchecked((byte)~(Fin | Psh));
            }

            if (i != 0)
            {
                f &= unchecked((byte)~Cwr);
            }

            tcp[13] = f;
            tcp[16] = 0;
            tcp[17] = 0;
            ulong sum = InternetChecksum.Add(tcp, InternetChecksum.PseudoHeader(segment, ProtocolTcp, tcp.Length));
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~InternetChecksum.Fold(sum));
            position += segment.Length;
        }

        return (count, headerLength + Math.Min(mss, payload.Length));
    }
}

/// <summary>
/// Merges consecutive in-order segments of one TCP flow (as they arrive in datagrams) into one super-packet
/// for the TUN device, the way the kernel's GRO does: same addresses, ports, TTL/TOS, TCP header bytes
/// (options, window, ack) apart from the sequence number and PSH/FIN; contiguous sequence numbers; every
/// segment but the last exactly the first one's size; no SYN/RST/URG/CWR; PSH or FIN ends the merge.
/// The result's TCP checksum is left partial (pseudo-header sum, NEEDS_CSUM) for the kernel; the inner
/// checksums of the merged segments are not verified here (the outer UDP checksum was).
/// </summary>
internal sealed class TcpCoalescer
{
    /// <summary>The most a super-packet may hold (IPv4 total length is 16 bits).</summary>
    private const int MaxPacket = 65535;

    private const byte Fin = 0x01;
    private const byte Psh = 0x08;

    private readonly byte[] _buffer = new byte[VirtioNetHeader.Length + MaxPacket];
    private int _length;
    private int _headerLength;
    private int _ipLength;
    private int _mss;
    private int _segments;
    private uint _nextSeq;
    private bool _closed;

    /// <summary>Packets ready for the TUN device, each with its virtio header first.</summary>
    public delegate void Sink(ReadOnlySpan<byte> packetWithVirtioHeader);

    /// <summary>
    /// Adds one IPv4 packet: merged into the pending super-packet when it continues it; otherwise the
    /// pending one goes to <paramref name="sink"/> first and this one becomes pending (TCP) or goes out
    /// at once (anything else).
    /// </summary>
    public void Add(ReadOnlySpan<byte> packet, Sink sink)
    {
        if (_length > 0 && !_closed && TryAppend(packet))
        {
            return;
        }

        Flush(sink);
        if (!StartPending(packet))
        {
            // Not mergeable TCP: as it came, the kernel verifies its checksums.
            Span<byte> plain = _buffer.AsSpan(0, VirtioNetHeader.Length + packet.Length);
            default(VirtioNetHeader).Write(plain);
            packet.CopyTo(plain[VirtioNetHeader.Length..]);
            sink(plain);
        }
    }

    /// <summary>Hands the pending super-packet (if any) to <paramref name="sink"/>.</summary>
    public void Flush(Sink sink)
    {
        if (_length == 0)
        {
            return;
        }

        Span<byte> packet = _buffer.AsSpan(VirtioNetHeader.Length, _length);
        if (_segments == 1)
        {
            // A single segment keeps its own, complete checksum.
            default(VirtioNetHeader).Write(_buffer);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)_length);
            InternetChecksum.SetIpv4(packet[.._ipLength]);
            int tcpLength = _length - _ipLength;
            ushort pseudo = InternetChecksum.Fold(InternetChecksum.PseudoHeader(packet, TcpOffload.ProtocolTcp, tcpLength));
            BinaryPrimitives.WriteUInt16BigEndian(packet[(_ipLength + 16)..], pseudo);
            new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)_headerLength, (ushort)_mss, (ushort)_ipLength, 16).Write(_buffer);
        }

        sink(_buffer.AsSpan(0, VirtioNetHeader.Length + _length));
        _length = 0;
    }

    private static (int IpLength, int HeaderLength) TcpHeaders(ReadOnlySpan<byte> p)
    {
        if (p.Length < 40 || p[0] >> 4 != 4 || p[9] != TcpOffload.ProtocolTcp)
        {
            return (0, 0);
        }

        int ip = (p[0] & 0x0f) * 4;
        // Fragments (MF set or an offset) are never merged.
        if (ip < 20 || p.Length < ip + 20 || (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3fff) != 0 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length)
        {
            return (0, 0);
        }

        int header = ip + ((p[ip + 12] >> 4) * 4);
        return header < ip + 20 || header > p.Length ? (0, 0) : (ip, header);
    }

    private bool StartPending(ReadOnlySpan<byte> packet)
    {
        (int ip, int header) = TcpHeaders(packet);
        int payload = packet.Length - header;
        // SYN, RST, URG or CWR, or no payload: not merged (GRO flushes on these too).
        if (ip == 0 || payload == 0 || (packet[ip + 13] & 0xa6) != 0)
        {
            return false;
        }

        packet.CopyTo(_buffer.AsSpan(VirtioNetHeader.Length));
        _length = packet.Length;
        _ipLength = ip;
        _headerLength = header;
        _mss = payload;
        _segments = 1;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(packet[(ip + 4)..]) + (uint)payload;
        _closed = (packet[ip + 13] & (Psh | Fin)) != 0;
        return true;
    }

    private bool TryAppend(ReadOnlySpan<byte> packet)
    {
        (int ip, int header) = TcpHeaders(packet);
        if (ip != _ipLength || header != _headerLength)
        {
            return false;
        }

        int payload = packet.Length - header;
        if (payload == 0 || payload > _mss || _length + payload > MaxPacket)
        {
            return false;
        }

        ReadOnlySpan<byte> first = _buffer.AsSpan(VirtioNetHeader.Length, _headerLength);
        byte flags = packet[ip + 13];
        // Same version/IHL/TOS, same TTL and protocol, same addresses; same ports; same ack, offset, window,
        // options; flags equal apart from PSH/FIN; contiguous sequence.
        if (packet[0] != first[0] || packet[1] != first[1] || packet[8] != first[8] || packet[9] != first[9]
            || (packet[6] & 0x40) != (first[6] & 0x40)
            || !packet.Slice(12, 8).SequenceEqual(first.Slice(12, 8))
            || !packet.Slice(ip, 4).SequenceEqual(first.Slice(ip, 4))
            || !packet.Slice(ip + 8, 5).SequenceEqual(first.Slice(ip + 8, 5))
            || (flags & unchecked((byte)~(Psh | Fin))) != (first[ip + 13] & unchecked((byte)~(Psh | Fin)))
            || !packet.Slice(ip + 14, 2).SequenceEqual(first.Slice(ip + 14, 2))
            || !packet[(ip + 20)..header].SequenceEqual(first[(ip + 20).._headerLength])
            || BinaryPrimitives.ReadUInt32BigEndian(packet[(ip + 4)..]) != _nextSeq)
        {
            return false;
        }

        packet[header..].CopyTo(_buffer.AsSpan(VirtioNetHeader.Length + _length));
        _length += payload;
        _segments++;
        _nextSeq += (uint)payload;
        // The merged packet carries the last segment's PSH/FIN.
        _buffer[VirtioNetHeader.Length + ip + 13] |= (byte)(flags & (Psh | Fin));
        // A short segment, PSH or FIN ends the super-packet (GRO does the same).
        _closed = payload < _mss || (flags & (Psh | Fin)) != 0;
        return true;
    }
}
