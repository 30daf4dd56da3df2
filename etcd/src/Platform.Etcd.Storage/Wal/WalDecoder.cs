using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.Win32.SafeHandles;
using Platform.Etcd.Storage.Internal;
using Platform.Etcd.Storage.Wal.Proto;

namespace Platform.Etcd.Storage.Wal;

/// <summary>
/// Reads frames from a run of segments, checking the CRC chain. A problem in any segment but the
/// last is corruption. In the last one, a frame that fails (cut short by the end of the file,
/// undecodable, or with a wrong CRC) is a torn tail when nothing follows it: its last data byte
/// is zero or missing (a write torn at any byte leaves zeros or nothing behind, as segments are
/// preallocated with zeros) and every byte after it is zero. Anything else is corruption.
/// </summary>
internal static class WalDecoder
{
    private const int BufferBytes = 1 << 20;

    /// <summary>Where decoding stopped in the last segment.</summary>
    /// <param name="Crc">The CRC chain after the last valid record.</param>
    /// <param name="TailValidBytes">Offset just after the last valid frame of the last segment.</param>
    /// <param name="TornReason">Why the tail was cut, or null when the tail was clean.</param>
    /// <param name="TailLengthBytes">The last segment's file length.</param>
    public readonly record struct Result(uint Crc, long TailValidBytes, string? TornReason, long TailLengthBytes);

    /// <exception cref="WalException">Corruption (see the type's summary).</exception>
    public static Result Decode(IReadOnlyList<(string Path, SafeFileHandle Handle)> segments, long maxRecordBytes, Action<WalRecord> onRecord)
    {
        uint crc = 0;
        for (int i = 0; i < segments.Count; i++)
        {
            (string path, SafeFileHandle handle) = segments[i];
            bool last = i == segments.Count - 1;
            long length = RandomAccess.GetLength(handle);
            var reader = new Reader(handle, length);
            long offset = 0;
            while (true)
            {
                long frameStart = offset;
                string? problem = null;
                long recordBytes = 0;
                int padding = 0;
                bool truncated = false;
                if (length - offset < WalFrame.LengthFieldBytes)
                {
                    if (IsZero(handle, offset, length))
                    {
                        break;
                    }

                    problem = "frame length cut short by the end of the file";
                    truncated = true;
                }
                else
                {
                    ulong lengthField = BinaryPrimitives.ReadUInt64LittleEndian(reader.Read(offset, WalFrame.LengthFieldBytes));
                    if (lengthField == 0)
                    {
                        // Preallocated zeros: the end of the written part. It must be zeros to the end,
                        // and a closed segment was truncated to its last frame when the next one began.
                        if (!IsZero(handle, offset, length))
                        {
                            throw new WalException("wal: zero frame length followed by data (corrupt record length)", path, frameStart);
                        }

                        if (!last && offset != length)
                        {
                            throw new WalException("wal: closed segment has a zeroed region before its end", path, frameStart);
                        }

                        break;
                    }

                    (recordBytes, padding, bool valid) = WalFrame.DecodeLength(lengthField);
                    if (!valid || recordBytes > maxRecordBytes)
                    {
                        throw new WalException($"wal: invalid frame length field 0x{lengthField:x16}", path, frameStart);
                    }

                    if (frameStart + WalFrame.LengthFieldBytes + recordBytes + padding > length)
                    {
                        problem = "frame cut short by the end of the file";
                        truncated = true;
                    }
                }

                WalRecord? record = null;
                if (problem is null)
                {
                    ReadOnlySpan<byte> data = reader.Read(frameStart + WalFrame.LengthFieldBytes, (int)recordBytes);
                    try
                    {
                        record = WalRecord.Parser.ParseFrom(data);
                    }
                    catch (InvalidProtocolBufferException)
                    {
                        problem = "undecodable record";
                    }

                    if (record is not null)
                    {
                        if (record.Type == (long)WalRecordType.Crc)
                        {
                            // A segment's first record carries the chain value the previous one ended with.
                            if (crc != 0 && record.Crc != crc)
                            {
                                problem = $"crc mismatch: segment starts at 0x{record.Crc:x8}, previous ended at 0x{crc:x8}";
                            }
                        }
                        else
                        {
                            uint expected = Crc32C.Update(crc, record.Data.Span);
                            if (record.Crc != expected)
                            {
                                problem = $"crc mismatch: record has 0x{record.Crc:x8}, computed 0x{expected:x8}";
                            }
                        }
                    }
                }

                if (problem is not null)
                {
                    if (!last)
                    {
                        throw new WalException($"wal: {problem} in a closed segment", path, frameStart);
                    }

                    long frameEnd = Math.Min(length, frameStart + WalFrame.LengthFieldBytes + recordBytes + padding);
                    bool torn = truncated
                        || ((recordBytes == 0 || reader.Read(frameStart + WalFrame.LengthFieldBytes + recordBytes - 1, 1)[0] == 0)
                            && IsZero(handle, frameEnd, length));
                    if (!torn)
                    {
                        throw new WalException($"wal: {problem}", path, frameStart);
                    }

                    return new Result(crc, frameStart, $"{problem} at offset {frameStart}", length);
                }

                crc = record!.Type == (long)WalRecordType.Crc ? record.Crc : Crc32C.Update(crc, record.Data.Span);
                onRecord(record);
                offset = frameStart + WalFrame.LengthFieldBytes + recordBytes + padding;
            }

            if (last)
            {
                return new Result(crc, offset, null, length);
            }
        }

        throw new WalException("wal: no segment to read");
    }

    private static bool IsZero(SafeFileHandle handle, long fromBytes, long toBytes)
    {
        byte[] buffer = new byte[Math.Min(BufferBytes, Math.Max(1, toBytes - fromBytes))];
        for (long offset = fromBytes; offset < toBytes;)
        {
            int read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, toBytes - offset)), offset);
            if (read == 0)
            {
                break;
            }

            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                return false;
            }

            offset += read;
        }

        return true;
    }

    /// <summary>A read window over a segment so a record costs no system call of its own.</summary>
    private sealed class Reader(SafeFileHandle handle, long lengthBytes)
    {
        private byte[] _buffer = new byte[Math.Min(BufferBytes, Math.Max(4096, lengthBytes))];
        private long _windowStart;
        private int _windowBytes;

        public ReadOnlySpan<byte> Read(long offset, int count)
        {
            if (offset < _windowStart || offset + count > _windowStart + _windowBytes)
            {
                if (count > _buffer.Length)
                {
                    _buffer = new byte[count];
                }

                _windowStart = offset;
                _windowBytes = 0;
                int want = (int)Math.Min(_buffer.Length, lengthBytes - offset);
                while (_windowBytes < want)
                {
                    int read = RandomAccess.Read(handle, _buffer.AsSpan(_windowBytes, want - _windowBytes), offset + _windowBytes);
                    if (read == 0)
                    {
                        break;
                    }

                    _windowBytes += read;
                }

                if (_windowBytes < count)
                {
                    throw new EndOfStreamException($"segment ends at {offset + _windowBytes}, wanted {offset + count}");
                }
            }

            return _buffer.AsSpan((int)(offset - _windowStart), count);
        }
    }
}
