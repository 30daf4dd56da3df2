using System.IO.Compression;
using Platform.Rkt.Images.Appc;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;

namespace Platform.Rkt.Images.Archives;

/// <summary>The compressions an ACI or a layer may use, recognised by their magic bytes.</summary>
public enum CompressionKind
{
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// <summary>
/// Detects a tar's compression by magic bytes (never by file name, as rkt does) and opens a stream of
/// the uncompressed tar, bounded so a decompression bomb fails with a clear error instead of filling
/// the disk. gzip is .NET's; bzip2, xz and zstd are SharpCompress's.
/// </summary>
public static class Compression
{
    private static ReadOnlySpan<byte> GzipMagic => [0x1f, 0x8b];

    private static ReadOnlySpan<byte> Bzip2Magic => "BZh"u8;

    private static ReadOnlySpan<byte> XzMagic => [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xb5, 0x2f, 0xfd];

    /// <summary>The compression whose magic starts <paramref name="head"/>; <see cref="CompressionKind.None"/> otherwise.</summary>
    public static CompressionKind Detect(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith(GzipMagic))
        {
            return CompressionKind.Gzip;
        }

        if (head.StartsWith(Bzip2Magic))
        {
            return CompressionKind.Bzip2;
        }

        if (head.StartsWith(XzMagic))
        {
            return CompressionKind.Xz;
        }

        return head.StartsWith(ZstdMagic) ? CompressionKind.Zstd : CompressionKind.None;
    }

    /// <summary>
    /// Opens the uncompressed content of <paramref name="compressed"/>, a seekable stream positioned at
    /// the start of the data. Reading more than <paramref name="maxUncompressedBytes"/> throws
    /// <see cref="InvalidImageException"/>. The returned stream owns <paramref name="compressed"/>.
    /// </summary>
    public static Stream OpenDecompressed(Stream compressed, long maxUncompressedBytes, out CompressionKind kind)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        if (!compressed.CanSeek)
        {
            throw new ArgumentException("the compressed stream must be seekable", nameof(compressed));
        }

        Span<byte> head = stackalloc byte[6];
        long start = compressed.Position;
        int read = compressed.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        compressed.Position = start;
        kind = Detect(head[..read]);
        Stream inner = kind switch
        {
            CompressionKind.Gzip => new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true),
            CompressionKind.Bzip2 => BZip2Stream.Create(compressed, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: true, tolerateTruncatedStream: false),
            CompressionKind.Xz => new XZStream(compressed),
            CompressionKind.Zstd => new SharpCompress.Compressors.ZStandard.DecompressionStream(compressed, bufferSize: 0, checkEndOfStream: true, leaveOpen: true),
            _ => compressed,
        };
        return new BoundedReadStream(inner, compressed, maxUncompressedBytes, kind);
    }
}
