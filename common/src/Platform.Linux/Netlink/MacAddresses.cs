using System.Net.NetworkInformation;
using System.Security.Cryptography;

namespace Platform.Linux.Netlink;

/// <summary>MAC addresses the kernel does not hand out itself.</summary>
public static class MacAddresses
{
    /// <summary>A random unicast, locally administered MAC (the I/G bit clear, the U/L bit set).</summary>
    public static PhysicalAddress RandomLocal()
    {
        byte[] mac = RandomNumberGenerator.GetBytes(6);
        mac[0] = (byte)((mac[0] & 0xfe) | 0x02);
        return new PhysicalAddress(mac);
    }
}
