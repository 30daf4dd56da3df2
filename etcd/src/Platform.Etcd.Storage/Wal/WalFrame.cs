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
    public static void Write(IBufferWriter<byte> output, WalRecord record)
    {
        int recordBytes = record.CalculateSize();
        int padding = (8 - (recordBytes % 8)) % 8;
        ulong lengthField = (ulong)recordBytes;
        if (padding != 0)
        {
            lengthField |= (ulong)(0x80 | padding) << 56;
        }

        int frameBytes = LengthFieldBytes + recordBytes + padding;
        Span<byte> span = output.GetSpan(frameBytes)[..frameBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(span, lengthField);
        record.WriteTo(span.Slice(LengthFieldBytes, recordBytes));
        span[(LengthFieldBytes + recordBytes)..].Clear();
        output.Advance(frameBytes);
    }
}
