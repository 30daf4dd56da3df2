using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Archives;

/// <summary>
/// A read-only pass-through that fails once more than a set number of bytes came out: the guard
/// against decompression bombs (a 100 KiB gzip can expand to 100 MiB of zeros, an xz far more).
/// </summary>
internal sealed class BoundedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly Stream _source;
    private readonly long _maxBytes;
    private readonly CompressionKind _kind;

    /// <param name="inner">The decompressing stream.</param>
    /// <param name="source">The compressed stream under it; both are disposed with this one.</param>
    /// <param name="maxBytes">The most bytes that may come out.</param>
    /// <param name="kind">For error messages.</param>
    public BoundedReadStream(Stream inner, Stream source, long maxBytes, CompressionKind kind)
    {
        _inner = inner;
        _source = source;
        _maxBytes = maxBytes;
        _kind = kind;
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _inner.Read(buffer);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or IndexOutOfRangeException or ArgumentException or EndOfStreamException || e.GetType().Namespace?.StartsWith("SharpCompress", StringComparison.Ordinal) == true)
        {
            throw new InvalidImageException($"corrupt {_kind.ToString().ToLowerInvariant()} data: {e.Message}", e);
        }

        BytesRead += n;
        if (BytesRead > _maxBytes)
        {
            throw new InvalidImageException(
                $"uncompressed image exceeds the limit of {_maxBytes} bytes ({_kind.ToString().ToLowerInvariant()}); refusing a possible decompression bomb");
        }

        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _source.Dispose();
        }

        base.Dispose(disposing);
    }
}
