using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Platform.Flannel.Cni;

/// <summary>
/// An IPv4 or IPv6 network as Go's <c>net.ParseCIDR</c> returns it: host bits cleared, printed as
/// <c>address/prefix</c>. IPv4 addresses are kept in the low 32 bits of <see cref="Bits"/>.
/// </summary>
internal readonly record struct IpNet(bool IsIpv6, UInt128 Bits, int PrefixLength)
{
    /// <summary>Parses <c>a.b.c.d/n</c> or <c>v6/n</c>, clearing host bits.</summary>
    /// <exception cref="FormatException">Go's <c>invalid CIDR address: TEXT</c>.</exception>
    public static IpNet ParseCidr(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out IPAddress? address) && !text.AsSpan(0, slash).Contains('%')
            && int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prefix))
        {
            bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
            bool dotted = text.AsSpan(0, slash).Count('.') == 3 && !text.AsSpan(0, slash).Contains(':');
            if ((v6 || dotted) && prefix <= (v6 ? 128 : 32))
            {
                byte[] bytes = address.GetAddressBytes();
                UInt128 bits = v6 ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
                int width = v6 ? 128 : 32;
                UInt128 mask = prefix == 0 ? UInt128.Zero : (UInt128.MaxValue << (128 - prefix)) >> (128 - width);
                return new IpNet(v6, bits & mask, prefix);
            }
        }

        throw new FormatException($"invalid CIDR address: {text}");
    }

    public override string ToString()
    {
        byte[] bytes;
        if (IsIpv6)
        {
            bytes = new byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(bytes, Bits);
        }
        else
        {
            bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Bits);
        }

        return $"{new IPAddress(bytes)}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";
    }
}
