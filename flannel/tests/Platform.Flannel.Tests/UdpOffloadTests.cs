using System.Buffers.Binary;
using Platform.Flannel.Backends.Udp;

namespace Platform.Flannel.Tests;

/// <summary>The udp backend's TSO segmentation and GRO-style coalescing, checked with a naive RFC 1071 sum.</summary>
public sealed class UdpOffloadTests
{
    [Fact]
    public void SetIpv4_KnownHeader_GetsItsChecksum()
    {
        // The classic example header: checksum 0xb861.
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");

        InternetChecksum.SetIpv4(header);

        Assert.Equal(0xb861, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10)));
        Assert.True(InternetChecksum.Ipv4Valid(header));
    }

    [Fact]
    public void Segment_SuperPacket_CompleteMssPacketsWithOwnSeqIdFlagsAndChecksums()
    {
        byte[] payload = Payload(5000);
        byte[] super = TcpPacket(seq: 1000, id: 77, flags: 0x18, payload); // ACK|PSH
        byte[] output = new byte[2 * 65536];

        (int count, int segmentLength) = TcpOffload.Segment(super, 1400, output);

        Assert.Equal(4, count);
        Assert.Equal(52 + 1400, segmentLength);
        int position = 0;
        var received = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(position + 2));
            byte[] segment = output.AsSpan(position, length).ToArray();
            Assert.Equal(i < 3 ? 1452 : 52 + 800, length);
            Assert.Equal(77 + i, BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(4)));
            Assert.Equal((uint)(1000 + (i * 1400)), BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(24)));
            Assert.Equal(i < 3 ? 0x10 : 0x18, segment[33]);
            Assert.Equal(0xffff, NaiveSum(segment.AsSpan(0, 20)));
            Assert.Equal(0xffff, NaiveTcpSum(segment));
            received.AddRange(segment.AsSpan(52).ToArray());
            position += length;
        }

        Assert.Equal(payload, received);
    }

    [Theory]
    [InlineData(1, 1420)]
    [InlineData(1421, 1420)]
    [InlineData(2841, 1420)]
    [InlineData(65483, 1420)]
    [InlineData(999, 7)]
    public void Segment_OddSizes_EverySegmentChecksumsAndTheCoalescedPacketRestoresThePayload(int length, int mss)
    {
        byte[] payload = Payload(length);
        byte[] output = new byte[2 * 65536];

        (int count, _) = TcpOffload.Segment(TcpPacket(seq: uint.MaxValue - 100, id: ushort.MaxValue, flags: 0x18, payload), mss, output);

        byte[][] segments = Split(output, count);
        Assert.Equal((length + mss - 1) / mss, count);
        Assert.All(segments, s => Assert.Equal(0xffff, NaiveTcpSum(s)));
        Assert.All(segments, s => Assert.Equal(0xffff, NaiveSum(s.AsSpan(0, 20))));
        var coalescer = new TcpCoalescer();
        var written = new List<byte[]>();
        foreach (byte[] segment in segments)
        {
            coalescer.Add(segment, p => written.Add(p.ToArray()));
        }

        coalescer.Flush(p => written.Add(p.ToArray()));
        var received = new List<byte>();
        foreach (byte[] framed in written)
        {
            VirtioNetHeader header = VirtioNetHeader.Read(framed);
            byte[] packet = framed[VirtioNetHeader.Length..];
            if (header.Flags == VirtioNetHeader.NeedsChecksum)
            {
                Assert.True(TcpOffload.CompleteChecksum(packet, header));
            }

            Assert.Equal(0xffff, NaiveTcpSum(packet));
            received.AddRange(packet[52..]);
        }

        Assert.Equal(payload, received);
    }

    [Fact]
    public void Coalescer_SegmentsOfOneFlow_OneGsoSuperPacketWithPartialChecksum()
    {
        byte[] payload = Payload(5000);
        byte[] output = new byte[2 * 65536];
        (int count, _) = TcpOffload.Segment(TcpPacket(seq: 1000, id: 77, flags: 0x18, payload), 1400, output);
        var coalescer = new TcpCoalescer();
        var written = new List<byte[]>();

        foreach (byte[] segment in Split(output, count))
        {
            coalescer.Add(segment, p => written.Add(p.ToArray()));
        }

        coalescer.Flush(p => written.Add(p.ToArray()));

        byte[] framed = Assert.Single(written);
        VirtioNetHeader header = VirtioNetHeader.Read(framed);
        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, 52, 1400, 20, 16), header);
        byte[] packet = framed[VirtioNetHeader.Length..];
        Assert.Equal(52 + 5000, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
        Assert.Equal(0xffff, NaiveSum(packet.AsSpan(0, 20)));
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(24)));
        Assert.Equal(0x18, packet[33]);
        Assert.Equal(payload, packet[52..]);
        // What the kernel does with NEEDS_CSUM gives a valid TCP checksum.
        Assert.True(TcpOffload.CompleteChecksum(packet, header));
        Assert.Equal(0xffff, NaiveTcpSum(packet));
    }

    [Fact]
    public void Coalescer_GapOrOtherFlowOrIcmp_NotMerged()
    {
        byte[] output = new byte[2 * 65536];
        (int count, _) = TcpOffload.Segment(TcpPacket(seq: 1, id: 1, flags: 0x10, Payload(4200)), 1400, output);
        byte[][] segments = Split(output, count);
        byte[] otherFlow = TcpPacket(seq: 1 + 2800 + 1400, id: 9, flags: 0x10, Payload(1400), sourcePort: 4000);
        byte[] icmp = Convert.FromHexString("4500001c0000400040010000" + "0a3c0102" + "0a3c0203" + "0800000000000000");
        InternetChecksum.SetIpv4(icmp.AsSpan(0, 20));
        var coalescer = new TcpCoalescer();
        var written = new List<byte[]>();
        void Sink(ReadOnlySpan<byte> p) => written.Add(p.ToArray());

        coalescer.Add(segments[0], Sink);
        coalescer.Add(segments[2], Sink); // a sequence gap: segment 0 goes out alone
        coalescer.Add(otherFlow, Sink);   // another flow (the sequence would continue): segment 2 goes alone
        coalescer.Add(icmp, Sink);        // not TCP: otherFlow's segment goes, then the ICMP packet as it is
        coalescer.Flush(Sink);

        Assert.Equal(4, written.Count);
        Assert.All(written, w => Assert.Equal(default, VirtioNetHeader.Read(w)));
        Assert.Equal(segments[0], written[0][VirtioNetHeader.Length..]);
        Assert.Equal(segments[2], written[1][VirtioNetHeader.Length..]);
        Assert.Equal(otherFlow, written[2][VirtioNetHeader.Length..]);
        Assert.Equal(icmp, written[3][VirtioNetHeader.Length..]);
    }

    [Fact]
    public void CompleteChecksum_PartialTcpChecksum_Completed()
    {
        byte[] packet = TcpPacket(seq: 5, id: 5, flags: 0x18, Payload(333));
        ushort pseudo = InternetChecksum.Fold(InternetChecksum.PseudoHeader(packet, 6, packet.Length - 20));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(36), pseudo);

        Assert.True(TcpOffload.CompleteChecksum(packet, new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, 0, 0, 0, 20, 16)));

        Assert.Equal(0xffff, NaiveTcpSum(packet));
        Assert.False(TcpOffload.CompleteChecksum(packet, new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, 0, 0, 0, 20, (ushort)packet.Length)));
    }

    private static byte[] Payload(int length)
    {
        byte[] payload = new byte[length];
        new Random(length).NextBytes(payload);
        return payload;
    }

    private static byte[][] Split(byte[] output, int count)
    {
        var segments = new byte[count][];
        int position = 0;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(position + 2));
            segments[i] = output.AsSpan(position, length).ToArray();
            position += length;
        }

        return segments;
    }

    /// <summary>IPv4 (no options, DF) + TCP with a 12-byte timestamp option block, 10.60.1.2:3333 → 10.60.2.3:80.</summary>
    private static byte[] TcpPacket(uint seq, ushort id, byte flags, byte[] payload, ushort sourcePort = 3333)
    {
        byte[] p = new byte[52 + payload.Length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)Math.Min(p.Length, 65535));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        new byte[] { 10, 60, 1, 2, 10, 60, 2, 3 }.CopyTo(p, 12);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), 80);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), seq);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(28), 424242);
        p[32] = 8 << 4;
        p[33] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(34), 502);
        new byte[] { 1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4 }.CopyTo(p, 40);
        payload.CopyTo(p, 52);
        InternetChecksum.SetIpv4(p.AsSpan(0, 20));
        return p;
    }

    private static int NaiveSum(ReadOnlySpan<byte> data, uint sum = 0)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (int)sum;
    }

    private static int NaiveTcpSum(byte[] packet)
    {
        int tcpLength = packet.Length - 20;
        uint pseudo = (uint)NaiveSum(packet.AsSpan(12, 8)) + 6u + (uint)tcpLength;
        return NaiveSum(packet.AsSpan(20), pseudo);
    }
}
