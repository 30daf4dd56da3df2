using System.Buffers.Binary;
using System.Numerics;

namespace Platform.Etcd.Storage.Internal;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with Go's <c>crc32.Update</c>
/// conventions: the running value is the finished CRC of everything so far, so
/// <c>Update(Update(0, a), b) == Update(0, a + b)</c>. The WAL chains it across records and
/// segments, snapshot files and the MVCC hashes use it over their bytes.
/// </summary>
internal static class Crc32C
{
    /// <summary>Extends <paramref name="crc"/> (0 for an empty input) with <paramref name="data"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the bare hardware step (SSE4.2 crc32 / ARMv8 crc32c, software
        // otherwise): no pre- and post-inversion, which is what makes a CRC resumable.
        uint c = ~crc;
        while (data.Length >= sizeof(ulong))
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (byte b in data)
        {
            c = BitOperations.Crc32C(c, b);
        }

        return ~c;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);
}
