using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Platform.Flannel.Subnets;

/// <summary>
/// An IPv4 network: an address with host bits cleared and a prefix length 0–32 (flannel's
/// <c>ip.IP4Net</c>). Parsing masks host bits off, as Go's <c>net.ParseCIDR</c> does.
/// </summary>
public readonly record struct Ip4Net
{
    public Ip4Net(uint address, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        PrefixLength = prefixLength;
        Address = address & Mask(prefixLength);
    }

    /// <summary>The network address, host order.</summary>
    public uint Address { get; }

    public int PrefixLength { get; }

    /// <summary>Number of addresses in the network (2^(32-prefix)).</summary>
    public ulong Size => 1UL << (32 - PrefixLength);

    /// <summary>The first address after this network (may wrap to 0 for 0.0.0.0/0).</summary>
    public uint NextAddress => (uint)(Address + Size);

    public static uint Mask(int prefixLength) => prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);

    public bool Contains(uint address) => (address & Mask(PrefixLength)) == Address;

    public bool Overlaps(Ip4Net other)
    {
        int shorter = Math.Min(PrefixLength, other.PrefixLength);
        return (Address & Mask(shorter)) == (other.Address & Mask(shorter));
    }

    /// <summary>Parses <c>a.b.c.d/len</c>; host bits are cleared.</summary>
    /// <exception cref="FormatException">Not an IPv4 CIDR.</exception>
    public static Ip4Net Parse(string cidr)
    {
        if (!TryParse(cidr, out Ip4Net net))
        {
            throw new FormatException($"invalid CIDR address: {cidr}");
        }

        return net;
    }

    public static bool TryParse(string? cidr, out Ip4Net net)
    {
        net = default;
        if (cidr is null)
        {
            return false;
        }

        int slash = cidr.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !TryParseAddress(cidr[..slash], out uint address)
            || !int.TryParse(cidr.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > 32)
        {
            return false;
        }

        net = new Ip4Net(address, length);
        return true;
    }

    /// <summary>Parses a dotted-quad IPv4 address to host order.</summary>
    public static bool TryParseAddress(string? text, out uint address)
    {
        address = 0;
        if (text is null || text.Count(c => c == '.') != 3 || !IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        address = ToUInt32(ip);
        return true;
    }

    public static uint ToUInt32(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        byte[] b = ip.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    public static string FormatAddress(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{FormatAddress(Address)}/{PrefixLength}");
}
