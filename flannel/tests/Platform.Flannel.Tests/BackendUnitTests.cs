using System.Buffers.Binary;
using System.Text.Json;
using Platform.Flannel.Backends;
using Platform.Flannel.Backends.Udp;
using Platform.Flannel.Backends.Vxlan;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Tests;

public sealed class BackendUnitTests
{
    [Fact]
    public void Create_HostGwBehindNat_RefusesWithFlannelsMessage()
    {
        var iface = new ExternalInterface("eth0", "10.0.0.5", "192.0.2.7", 1500);

        BackendException e = Assert.Throws<BackendException>(() => BackendRegistry.Create("host-gw", iface));

        Assert.Equal("your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend", e.Message);
    }

    [Fact]
    public void Registry_KnowsTheRoutingBackends()
    {
        Assert.Superset(new HashSet<string>(["alloc", "host-gw", "vxlan", "udp"]), new HashSet<string>(BackendRegistry.Names));
        Assert.Equal("unknown backend type: ipsec", Assert.Throws<NotSupportedException>(() => BackendRegistry.Create("ipsec", new ExternalInterface("eth0", "10.0.0.5", "10.0.0.5", 1500))).Message);
    }

    [Fact]
    public void VxlanConfig_FieldNamesCaseInsensitive_DefaultsAsFlannel()
    {
        Assert.Equal(new VxlanConfig(1, 0, false, false, false, 0), VxlanConfig.Parse(null));
        using JsonDocument doc = JsonDocument.Parse("""{"Type":"vxlan","vni":42,"PORT":4789,"gbp":true,"directRouting":true,"MTU":1400}""");

        Assert.Equal(new VxlanConfig(42, 4789, true, true, false, 1400), VxlanConfig.Parse(doc.RootElement));
    }

    [Theory]
    [InlineData("""{"VNI":0}""")]
    [InlineData("""{"VNI":16777216}""")]
    [InlineData("""{"VNI":"one"}""")]
    public void VxlanConfig_BadVni_IsRefused(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);

        Assert.StartsWith("failed to decode VXLAN backend config", Assert.Throws<BackendException>(() => VxlanConfig.Parse(doc.RootElement)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecrementTtl_ValidHeader_KeepsChecksumValid()
    {
        // 10.1.1.2 -> 10.1.2.2, TTL 64, ICMP, with a correct checksum.
        byte[] packet = Convert.FromHexString("45000054abcd40004001000a0a0101020a010202");
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Checksum(WithZeroChecksum(packet)));

        Assert.True(UdpBackend.DecrementTtl(packet));

        Assert.Equal(63, packet[8]);
        Assert.Equal(Checksum(WithZeroChecksum(packet)), BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(10)));
    }

    [Fact]
    public void DecrementTtl_TtlOne_IsDropped()
    {
        byte[] packet = Convert.FromHexString("45000054abcd40000101000a0a0101020a010202");

        Assert.False(UdpBackend.DecrementTtl(packet));
    }

    [Fact]
    public void PeerTable_SnapshotThenIncremental_ReturnsRemovalsAndAdditions()
    {
        var table = new PeerTable(l => l.Attrs.BackendType == "vxlan");
        SubnetLease own = Lease("10.5.1.0/24", "10.0.0.1");
        SubnetLease a = Lease("10.5.2.0/24", "10.0.0.2");
        SubnetLease b = Lease("10.5.3.0/24", "10.0.0.3");
        SubnetLease other = Lease("10.5.4.0/24", "10.0.0.4", "host-gw");

        (List<SubnetLease> removed, List<SubnetLease> added) = table.Apply(Snapshot(own, a, b, other), own);
        Assert.Empty(removed);
        Assert.Equal([a, b], added.OrderBy(l => l.Subnet.Address));

        SubnetLease aMoved = Lease("10.5.2.0/24", "10.0.0.9");
        (removed, added) = table.Apply(new LeaseBatch(false, [new LeaseEvent(LeaseEventType.Added, aMoved), new LeaseEvent(LeaseEventType.Removed, b)], 2), own);
        Assert.Equal([a, b], removed.OrderBy(l => l.Subnet.Address));
        Assert.Equal([aMoved], added);

        (removed, added) = table.Apply(Snapshot(own), own);
        Assert.Equal([aMoved], removed);
        Assert.Empty(added);
        Assert.Empty(table.Peers);
    }

    private static LeaseBatch Snapshot(params SubnetLease[] leases) => new(true, [.. leases.Select(l => new LeaseEvent(LeaseEventType.Added, l))], 1);

    private static SubnetLease Lease(string subnet, string publicIp, string type = "vxlan") =>
        new(Ip4Net.Parse(subnet), new LeaseAttrs { PublicIP = publicIp, BackendType = type, BackendData = """{"VNI":1,"VtepMAC":"02:00:00:00:00:01"}""" }, 1, null);

    private static byte[] WithZeroChecksum(byte[] packet)
    {
        byte[] copy = (byte[])packet.Clone();
        copy[10] = 0;
        copy[11] = 0;
        return copy;
    }

    private static ushort Checksum(byte[] header)
    {
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(i));
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
