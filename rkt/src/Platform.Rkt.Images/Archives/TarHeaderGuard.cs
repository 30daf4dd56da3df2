using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Archives;

/// <summary>
/// Watches the 512-byte header blocks of a tar stream as it passes through and fails fast on
/// metadata entries (PAX <c>x</c>/<c>g</c>, GNU long names <c>L</c>/<c>K</c>) larger than a limit.
/// System.Formats.Tar buffers such entries whole in memory, so without this a 2 GiB PAX header
/// would be a 2 GiB allocation. It follows a PAX <c>size</c> override to stay aligned on headers.
/// </summary>
internal sealed class TarHeaderGuard : Stream
{
    private const int BlockBytes = 512;

    private readonly Stream _inner;
    private readonly int _maxMetadataBytes;
    private readonly byte[] _header = new byte[BlockBytes];
    private int _headerFilled;
    private long _skipBytes;
    private MemoryStream? _pax;
    private long _paxRemaining;
    private long _paxPadding;
    private long? _sizeOverride;

    public TarHeaderGuard(Stream inner, int maxMetadataBytes)
    {
        _inner = inner;
        _maxMetadataBytes = maxMetadataBytes;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

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
        }

        base.Dispose(disposing);
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_pax is not null)
            {
                int take = (int)Math.Min(_paxRemaining, data.Length);
                _pax.Write(data[..take]);
                data = data[take..];
                _paxRemaining -= take;
                if (_paxRemaining == 0)
                {
                    _sizeOverride = ParsePaxSize(_pax.ToArray());
                    _pax = null;
                    _skipBytes = _paxPadding;
                }

                continue;
            }

            if (_skipBytes > 0)
            {
                int take = (int)Math.Min(_skipBytes, data.Length);
                data = data[take..];
                _skipBytes -= take;
                continue;
            }

            int copy = Math.Min(BlockBytes - _headerFilled, data.Length);
            data[..copy].CopyTo(_header.AsSpan(_headerFilled));
            _headerFilled += copy;
            data = data[copy..];
            if (_headerFilled == BlockBytes)
            {
                _headerFilled = 0;
                OnHeader();
            }
        }
    }

    private void OnHeader()
    {
        if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return; // end-of-archive blocks
        }

        char type = (char)_header[156];
        long size = ParseNumeric(_header.AsSpan(124, 12));
        bool metadata = type is 'x' or 'g' or 'L' or 'K' or 'X';
        if (!metadata && _sizeOverride is { } overridden)
        {
            size = overridden;
            _sizeOverride = null;
        }

        if (size < 0)
        {
            throw new InvalidImageException("tar header has a negative or unparsable size");
        }

        long padded = (size + BlockBytes - 1) / BlockBytes * BlockBytes;
        if (metadata)
        {
            if (size > _maxMetadataBytes)
            {
                throw new InvalidImageException(
                    $"tar metadata header (type '{type}') of {size} bytes exceeds the limit of {_maxMetadataBytes} bytes");
            }

            if (type is 'x' or 'X' && size > 0)
            {
                _pax = new MemoryStream((int)size);
                _paxRemaining = size;
                _paxPadding = padded - size;
                return;
            }
        }

        _skipBytes = padded;
    }

    private static long ParseNumeric(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256: big-endian two's complement in the remaining bytes.
            if ((field[0] & 0x40) != 0)
            {
                return -1;
            }

            long value = field[0] & 0x3f;
            for (int i = 1; i < field.Length; i++)
            {
                if (value > (long.MaxValue >> 8))
                {
                    return -1;
                }

                value = (value << 8) | field[i];
            }

            return value;
        }

        ReadOnlySpan<byte> trimmed = field.Trim((byte)0).Trim((byte)' ').Trim((byte)0);
        if (trimmed.IsEmpty)
        {
            return 0;
        }

        long result = 0;
        foreach (byte b in trimmed)
        {
            if (b is < (byte)'0' or > (byte)'7' || result > (long.MaxValue >> 3))
            {
                return -1;
            }

            result = (result << 3) | (long)(b - '0');
        }

        return result;
    }

    /// <summary>The <c>size</c> record of PAX extended attributes ("len key=value\n" records), or null.</summary>
    private static long? ParsePaxSize(ReadOnlySpan<byte> records)
    {
        while (!records.IsEmpty)
        {
            int space = records.IndexOf((byte)' ');
            if (space <= 0 || !Utf8Parser.TryParse(records[..space], out int length, out _) || length <= space || length > records.Length)
            {
                throw new InvalidImageException("malformed PAX extended header");
            }

            ReadOnlySpan<byte> record = records[(space + 1)..length];
            records = records[length..];
            if (record.StartsWith("size="u8))
            {
                string text = Encoding.ASCII.GetString(record[5..].TrimEnd((byte)'\n'));
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long size))
                {
                    throw new InvalidImageException($"malformed PAX size \"{text}\"");
                }

                return size;
            }
        }

        return null;
    }
}
