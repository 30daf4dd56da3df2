using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>Builds ACI tars entry by entry, including malformed and hostile ones.</summary>
internal sealed class TestAci
{
    private readonly List<TarEntry> _entries = [];

    public TestAci(string name = "example.com/test", string? version = "1.0.0", string? extraManifest = null, bool addManifest = true, bool addRootfs = true)
    {
        if (addManifest)
        {
            string labels = version is null ? "[]" : $"[{{\"name\":\"version\",\"value\":\"{version}\"}},{{\"name\":\"os\",\"value\":\"linux\"}},{{\"name\":\"arch\",\"value\":\"amd64\"}}]";
            string manifest = $"{{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"{name}\",\"labels\":{labels}{extraManifest ?? string.Empty}}}";
            File("manifest", manifest);
        }

        if (addRootfs)
        {
            Directory("rootfs");
        }
    }

    public TestAci File(string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            Mode = mode,
            ModificationTime = new DateTimeOffset(2020, 2, 24, 0, 0, 0, TimeSpan.Zero),
        });
        return this;
    }

    public TestAci Directory(string name, UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode });
        return this;
    }

    public TestAci Symlink(string name, string target)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = (UnixFileMode)0b111_111_111 });
        return this;
    }

    public TestAci HardLink(string name, string target)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target });
        return this;
    }

    public TestAci Entry(TarEntry entry)
    {
        _entries.Add(entry);
        return this;
    }

    /// <summary>The uncompressed tar.</summary>
    public byte[] ToTar()
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (TarEntry entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }

    public static byte[] Bzip2(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var bzip2 = SharpCompress.Compressors.BZip2.BZip2Stream.Create(buffer, SharpCompress.Compressors.CompressionMode.Compress, decompressConcatenated: false, leaveOpen: true, tolerateTruncatedStream: false))
        {
            bzip2.Write(data);
            bzip2.Finish();
        }

        return buffer.ToArray();
    }

    /// <summary>Writes the gzip-compressed ACI to <paramref name="path"/>.</summary>
    public string WriteTo(string path, bool gzip = true)
    {
        System.IO.File.WriteAllBytes(path, gzip ? Gzip(ToTar()) : ToTar());
        return path;
    }
}
