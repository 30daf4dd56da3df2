using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using Platform.Etcd.Storage.Wal.Proto;

namespace Platform.Etcd.Storage.Wal;

/// <summary>
/// The on-disk frame of one record: an 8-byte little-endian length, the serialized
/// <see cref="WalRecord"/>, then 0–7 zero bytes so the next frame starts 8-byte aligned. When
/// there is padding, the length's top byte is <c>0x80 | padding</c>; the low 56 bits are the
/// record's length. Because frames are aligned, a length field never straddles a sector, so a
/// torn write cannot leave half of one.
/// </summary>
internal static class WalFrame
{
    public const int LengthFieldBytes = 8;
    private const ulong LengthMask = (1UL << 56) - 1;

    public static (long RecordBytes, int PaddingBytes, bool Valid) DecodeLength(ulong lengthField)
    {
        long recordBytes = (long)(lengthField & LengthMask);
        byte top = (byte)(lengthField >> 56);
        if (top == 0)
        {
            return (recordBytes, 0, true);
        }

        // The top byte is either 0 or 0x80 | (1..7); anything else is not something we wrote.
        int padding = top & 0x7F;
        bool valid = (top & 0x80) != 0 && padding is >= 1 and <= 7 && (recordBytes + padding) % 8 == 0;
        return (recordBytes, padding, valid);
    }

    /// <summary>Appends the frame of <paramref name="record"/> to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, WalRecord record) => Write(output, record.Type, record.Crc, record.Data.Span);

    /// <summary>
    /// Appends the frame of the record {<paramref name="type"/>, <paramref name="crc"/>,
    /// <paramref name="data"/>} without building a <see cref="WalRecord"/>: the bytes its WriteTo
    /// writes (fields in number order, proto3 defaults left out), straight from a span, so the
    /// hot path does not copy each entry into a message first.
    /// </summary>
    public static void Write(IBufferWriter<byte> output, long type, uint crc, ReadOnlySpan<byte> data)
    {
        int recordBytes = (type != 0 ? 1 + CodedOutputStream.ComputeInt64Size(type) : 0)
            + (crc != 0 ? 1 + CodedOutputStream.ComputeUInt32Size(crc) : 0)
            + (data.Length != 0 ? 1 + CodedOutputStream.ComputeLengthSize(data.Length) + data.Length : 0);
        int padding = (8 - (recordBytes % 8)) % 8;
        ulong lengthField = (ulong)recordBytes;
        if (padding != 0)
        {
            lengthField |= (ulong)(0x80 | padding) << 56;
        }

        int frameBytes = LengthFieldBytes + recordBytes + padding;
        Span<byte> span = output.GetSpan(frameBytes)[..frameBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(span, lengthField);
        Span<byte> record = span.Slice(LengthFieldBytes, recordBytes);
        int at = 0;
        if (type != 0)
        {
            record[at++] = 1 << 3; // field 1, varint
            at += WriteVarint(record[at..], (ulong)type);
        }

        if (crc != 0)
        {
            record[at++] = 2 << 3; // field 2, varint
            at += WriteVarint(record[at..], crc);
        }

        if (data.Length != 0)
        {
            record[at++] = (3 << 3) | 2; // field 3, length-delimited
            at += WriteVarint(record[at..], (ulong)data.Length);
            data.CopyTo(record[at..]);
        }

        span[(LengthFieldBytes + recordBytes)..].Clear();
        output.Advance(frameBytes);
    }

    private static int WriteVarint(Span<byte> output, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            output[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        output[i++] = (byte)value;
        return i;
    }
}
