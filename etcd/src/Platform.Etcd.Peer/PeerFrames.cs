using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using Platform.Raft;

namespace Platform.Etcd.Peer;

/// <summary>
/// The stream format: each raft message as a 4-byte big-endian length, then the serialized
/// <see cref="Message"/>. A length above <see cref="MaxFrameBytes"/> is refused (a corrupt or
/// foreign stream, not a message: raft's messages are bounded by MaxMessageBytes).
/// </summary>
internal static class PeerFrames
{
    public const int MaxFrameBytes = 512 * 1024 * 1024;

    public static void Write(IBufferWriter<byte> output, Message message)
    {
        int size = message.CalculateSize();
        Span<byte> header = output.GetSpan(4);
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)size);
        output.Advance(4);
        if (size > 0)
        {
            Span<byte> body = output.GetSpan(size)[..size];
            message.WriteTo(body);
            output.Advance(size);
        }
    }

    /// <summary>Takes one whole frame off the front of <paramref name="buffer"/>, or returns false when it is not all there yet.</summary>
    /// <exception cref="InvalidDataException">The length is out of range or the body does not parse.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out Message? message)
    {
        message = null;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(header);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > MaxFrameBytes)
        {
            throw new InvalidDataException($"peer stream frame of {length} bytes is larger than {MaxFrameBytes}");
        }

        if (buffer.Length < 4 + length)
        {
            return false;
        }

        ReadOnlySequence<byte> body = buffer.Slice(4, length);
        try
        {
            message = Message.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("peer stream frame is not a raft message: " + e.Message, e);
        }

        buffer = buffer.Slice(4 + length);
        return true;
    }
}
