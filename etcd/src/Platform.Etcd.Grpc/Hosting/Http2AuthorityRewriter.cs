using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;

namespace Platform.Etcd.Grpc.Hosting;

/// <summary>
/// Repairs the <c>:authority</c> of clientv3 3.4's direct endpoint connections. etcdctl dials a
/// single member as <c>passthrough:///http://127.0.0.1:2379</c> (endpoint status, defrag, hashkv,
/// move-leader), and grpc-go sends that whole string as <c>:authority</c>. grpc-go servers accept
/// it; Kestrel validates <c>:authority</c> like a Host header and resets the stream with
/// PROTOCOL_ERROR, with no option to relax it.
/// </summary>
/// <remarks>
/// Sits between the socket and Kestrel on h2c connections and reads HTTP/2 frames from the client.
/// The first header block decides: if its <c>:authority</c> is a valid host, every byte of the
/// connection passes through untouched from then on (the common case costs one decode). If not,
/// every header block of the connection is decoded (keeping the client encoder's dynamic table),
/// the authority reduced to <c>host:port</c>, and re-encoded as literals without indexing, so
/// Kestrel's decoder never needs the client's table. Other frames pass through unchanged.
/// </remarks>
internal sealed class Http2AuthorityRewriter
{
    private const int FrameHeaderLength = 9;
    private const int PrefaceLength = 24;
    private const byte TypeHeaders = 0x1;
    private const byte TypeContinuation = 0x9;
    private const byte FlagEndStream = 0x1;
    private const byte FlagEndHeaders = 0x4;
    private const byte FlagPadded = 0x8;
    private const byte FlagPriority = 0x20;

    // Kestrel's default SETTINGS_MAX_FRAME_SIZE, the most it accepts from a client.
    private const int MaxFramePayload = 16384;

    private readonly PipeReader _source;
    private readonly Pipe _pipe = new(new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024));
    private readonly HpackDecoder _decoder = new();
    private bool _rewrite;

    public Http2AuthorityRewriter(PipeReader source)
    {
        _source = source;
    }

    /// <summary>What Kestrel reads instead of the socket.</summary>
    public PipeReader Output => _pipe.Reader;

    /// <summary>Copies the client's bytes to <see cref="Output"/> until either side ends.</summary>
    public async Task RunAsync()
    {
        PipeWriter writer = _pipe.Writer;
        Exception? error = null;
        try
        {
            if (!await CopyAsync(writer, PrefaceLength).ConfigureAwait(false))
            {
                return;
            }

            while (true)
            {
                byte[]? header = await ReadExactlyAsync(FrameHeaderLength).ConfigureAwait(false);
                if (header is null)
                {
                    return;
                }

                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                byte type = header[3];
                if (type != TypeHeaders)
                {
                    writer.Write(header);
                    if (!await CopyAsync(writer, length).ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                // A header block: HEADERS plus CONTINUATIONs up to END_HEADERS.
                var frames = new List<(byte[] Header, byte[] Payload)>();
                byte[]? payload = await ReadExactlyAsync(length).ConfigureAwait(false);
                if (payload is null)
                {
                    return;
                }

                frames.Add((header, payload));
                while ((frames[^1].Header[4] & FlagEndHeaders) == 0)
                {
                    byte[]? next = await ReadExactlyAsync(FrameHeaderLength).ConfigureAwait(false);
                    byte[]? nextPayload = next is null ? null : await ReadExactlyAsync((next[0] << 16) | (next[1] << 8) | next[2]).ConfigureAwait(false);
                    if (next is null || nextPayload is null || next[3] != TypeContinuation)
                    {
                        // Not HTTP/2 as Kestrel accepts it: hand over what came and let Kestrel fail the connection.
                        WriteFrames(writer, frames);
                        if (next is not null)
                        {
                            writer.Write(next);
                            writer.Write(nextPayload);
                        }

                        return;
                    }

                    frames.Add((next, nextPayload));
                }

                bool passThroughFromNowOn = HandleBlock(writer, frames);
                FlushResult flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted)
                {
                    return;
                }

                if (passThroughFromNowOn)
                {
                    await _source.CopyToAsync(writer).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException or InvalidDataException)
        {
            error = e;
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
            await _source.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes the block (as is, or rewritten); returns true when the rest of the connection can pass through.</summary>
    private bool HandleBlock(PipeWriter writer, List<(byte[] Header, byte[] Payload)> frames)
    {
        byte[] first = frames[0].Payload;
        byte flags = frames[0].Header[4];
        int offset = 0;
        int padding = 0;
        if ((flags & FlagPadded) != 0)
        {
            padding = first[0];
            offset = 1;
        }

        byte[]? priority = null;
        if ((flags & FlagPriority) != 0)
        {
            priority = first[offset..(offset + 5)];
            offset += 5;
        }

        var block = new ArrayBufferWriter<byte>();
        block.Write(first.AsSpan(offset, first.Length - offset - padding));
        for (int i = 1; i < frames.Count; i++)
        {
            block.Write(frames[i].Payload);
        }

        List<(byte[] Name, byte[] Value)> fields = _decoder.Decode(block.WrittenSpan);
        bool changed = false;
        for (int i = 0; i < fields.Count; i++)
        {
            if (fields[i].Name.AsSpan().SequenceEqual(":authority"u8) && Repair(fields[i].Value) is { } repaired)
            {
                fields[i] = (fields[i].Name, repaired);
                changed = true;
            }
        }

        if (!_rewrite && !changed)
        {
            // The client's authority is fine: Kestrel can read this connection directly.
            WriteFrames(writer, frames);
            return true;
        }

        _rewrite = true;
        byte[] encoded = HpackEncoder.Encode(fields);
        int streamId = BinaryPrimitives.ReadInt32BigEndian(frames[0].Header.AsSpan(5)) & int.MaxValue;
        byte[] firstPayload = priority is null ? [] : priority;
        int room = MaxFramePayload - firstPayload.Length;
        int take = Math.Min(room, encoded.Length);
        byte headersFlags = (byte)((flags & (FlagEndStream | FlagPriority)) | (take == encoded.Length ? FlagEndHeaders : 0));
        WriteFrame(writer, TypeHeaders, headersFlags, streamId, [.. firstPayload, .. encoded.AsSpan(0, take)]);
        for (int position = take; position < encoded.Length; position += MaxFramePayload)
        {
            int count = Math.Min(MaxFramePayload, encoded.Length - position);
            WriteFrame(writer, TypeContinuation, position + count == encoded.Length ? FlagEndHeaders : (byte)0, streamId, encoded.AsSpan(position, count).ToArray());
        }

        return false;
    }

    /// <summary><c>http://host:port[/...]</c> → <c>host:port</c>; null when the value is already a host.</summary>
    internal static byte[]? Repair(byte[] authority)
    {
        string text = Encoding.Latin1.GetString(authority);
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0 && !text.Contains('/', StringComparison.Ordinal))
        {
            return null;
        }

        string host = scheme >= 0 ? text[(scheme + 3)..] : text;
        int slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }

        return Encoding.Latin1.GetBytes(host);
    }

    private static void WriteFrames(PipeWriter writer, List<(byte[] Header, byte[] Payload)> frames)
    {
        foreach ((byte[] header, byte[] payload) in frames)
        {
            writer.Write(header);
            writer.Write(payload);
        }
    }

    private static void WriteFrame(PipeWriter writer, byte type, byte flags, int streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId);
        writer.Write(header);
        writer.Write(payload);
    }

    private async Task<bool> CopyAsync(PipeWriter writer, int count)
    {
        while (count > 0)
        {
            ReadResult result = await _source.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (result.IsCanceled || (buffer.IsEmpty && result.IsCompleted))
            {
                _source.AdvanceTo(buffer.Start);
                return false;
            }

            ReadOnlySequence<byte> slice = buffer.Slice(0, Math.Min(count, buffer.Length));
            foreach (ReadOnlyMemory<byte> segment in slice)
            {
                writer.Write(segment.Span);
            }

            count -= (int)slice.Length;
            _source.AdvanceTo(slice.End);
            FlushResult flushed = await writer.FlushAsync().ConfigureAwait(false);
            if (flushed.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<byte[]?> ReadExactlyAsync(int count)
    {
        while (true)
        {
            ReadResult result = await _source.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length >= count)
            {
                byte[] bytes = buffer.Slice(0, count).ToArray();
                _source.AdvanceTo(buffer.GetPosition(count));
                return bytes;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                _source.AdvanceTo(buffer.End);
                return null;
            }

            _source.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
