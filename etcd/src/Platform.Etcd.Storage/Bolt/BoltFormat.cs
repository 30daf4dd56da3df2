using System.Buffers.Binary;

namespace Platform.Etcd.Storage.Bolt;

/// <summary>
/// bbolt's on-disk format (the backend file of etcd 3.4, <c>member/snap/db</c>), as far as a
/// writer of fresh files and a reader need it. All integers are little-endian.
/// </summary>
/// <remarks>
/// <para>Every page starts with a 16-byte header: id (u64), flags (u16: 0x01 branch, 0x02 leaf,
/// 0x04 meta, 0x10 freelist), count (u16, elements), overflow (u32, how many more pages the page
/// spans). Pages 0 and 1 are meta pages; the valid one with the larger txid is current.</para>
/// <para>Meta (at byte 16 of its page): magic 0xED0CDAED (u32), version 2 (u32), page size (u32),
/// flags (u32), the root bucket {root pgid, sequence} (2 × u64), freelist pgid (u64), high-water
/// pgid (u64: pages below it exist), txid (u64), checksum (u64: FNV-1a 64 of the 56 bytes
/// before it).</para>
/// <para>Leaf elements (16 bytes each, after the header): flags (u32, 0x01 = the value is a
/// bucket), pos (u32, from the element's own offset to its key), key size, value size (u32); the
/// value follows the key. Branch elements: pos (u32), key size (u32), child pgid (u64); the key is
/// the child's first key. A bucket value is a bucket header {root pgid, sequence} (2 × u64); when
/// root is 0 the bucket is inline: a leaf page (header with id 0) follows in the value itself.
/// The freelist page lists free pgids (u64 each, sorted); count 0xFFFF means the real count is
/// the first u64.</para>
/// </remarks>
internal static class BoltFormat
{
    public const uint Magic = 0xED0CDAED;
    public const uint Version = 2;
    public const int PageSize = 4096;
    public const int PageHeaderSize = 16;
    public const int ElementSize = 16;
    public const int MetaSize = 64;
    public const int MetaChecksumOffset = 56;
    public const int BucketHeaderSize = 16;

    public const ushort BranchPage = 0x01;
    public const ushort LeafPage = 0x02;
    public const ushort MetaPage = 0x04;
    public const ushort FreelistPage = 0x10;

    public const uint BucketLeafFlag = 0x01;

    /// <summary>bbolt's pgidNoFreelist: the freelist is not stored (NoFreelistSync).</summary>
    public const ulong NoFreelist = ulong.MaxValue;

    /// <summary>bbolt inlines a bucket whose leaf (header included) fits in a quarter page.</summary>
    public const int MaxInlineBucketSize = PageSize / 4;

    /// <summary>bbolt's MaxKeySize.</summary>
    public const int MaxKeySize = 32768;

    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash;
    }

    public static void WritePageHeader(Span<byte> page, ulong id, ushort flags, int count, int overflow)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(page, id);
        BinaryPrimitives.WriteUInt16LittleEndian(page[8..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(page[10..], checked((ushort)count));
        BinaryPrimitives.WriteUInt32LittleEndian(page[12..], checked((uint)overflow));
    }

    /// <summary>Whether the file at <paramref name="path"/> starts with a bbolt meta page.</summary>
    public static bool IsBoltFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        Span<byte> head = stackalloc byte[PageHeaderSize + 8];
        using FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(head[PageHeaderSize..]) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(head[(PageHeaderSize + 4)..]) == Version;
    }
}

/// <summary>A bbolt file that cannot be read: names the file and what is wrong.</summary>
public sealed class BoltFormatException : Exception
{
    public BoltFormatException()
    {
    }

    public BoltFormatException(string message)
        : base(message)
    {
    }

    public BoltFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
