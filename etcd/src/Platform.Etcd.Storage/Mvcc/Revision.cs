using System.Buffers.Binary;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// A point in the store's history: <see cref="Main"/> is the revision of a write transaction
/// (one per transaction that changed something), <see cref="Sub"/> the index of the change within it.
/// </summary>
internal readonly record struct Revision(long Main, long Sub) : IComparable<Revision>
{
    /// <summary>Bytes of a key-table key: main (8, big-endian) '_' sub (8, big-endian), so memcmp order is revision order.</summary>
    public const int EncodedBytes = 17;

    /// <summary>The suffix that marks a tombstone (a delete) in the key table.</summary>
    public const byte TombstoneMarker = (byte)'t';

    public int CompareTo(Revision other) => Main != other.Main ? Main.CompareTo(other.Main) : Sub.CompareTo(other.Sub);

    public static bool operator <(Revision left, Revision right) => left.CompareTo(right) < 0;

    public static bool operator >(Revision left, Revision right) => left.CompareTo(right) > 0;

    public static bool operator <=(Revision left, Revision right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Revision left, Revision right) => left.CompareTo(right) >= 0;

    public byte[] ToKey(bool tombstone = false)
    {
        byte[] bytes = new byte[tombstone ? EncodedBytes + 1 : EncodedBytes];
        Write(bytes);
        if (tombstone)
        {
            bytes[EncodedBytes] = TombstoneMarker;
        }

        return bytes;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, Main);
        destination[8] = (byte)'_';
        BinaryPrimitives.WriteInt64BigEndian(destination[9..], Sub);
    }

    public static Revision FromKey(ReadOnlySpan<byte> key) =>
        new(BinaryPrimitives.ReadInt64BigEndian(key), BinaryPrimitives.ReadInt64BigEndian(key[9..]));

    public static bool IsTombstone(ReadOnlySpan<byte> key) => key.Length == EncodedBytes + 1 && key[EncodedBytes] == TombstoneMarker;
}
